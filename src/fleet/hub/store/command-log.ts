// The command log (table commands): every command sent to a gateway, who sent
// it, and how it ended.
import type { Sql } from './sql/database.js';

export interface CommandLogEntry {
  id: string;
  gatewayId: string;
  command: string;
  args: unknown;
  who: string;
  role: string;
  sentAt: number;
}

export interface CommandRecord extends CommandLogEntry {
  finishedAt: number | null;
  outcome: string | null;
  result: unknown;
}

interface CommandRow {
  id: string;
  gateway_id: string;
  command: string;
  args: string;
  who: string;
  role: string;
  sent_at: number;
  finished_at: number | null;
  outcome: string | null;
  result: string | null;
}

const commandRecord = (r: CommandRow): CommandRecord => ({
  id: r.id,
  gatewayId: r.gateway_id,
  command: r.command,
  args: JSON.parse(r.args) as unknown,
  who: r.who,
  role: r.role,
  sentAt: r.sent_at,
  finishedAt: r.finished_at,
  outcome: r.outcome,
  result: r.result === null ? null : (JSON.parse(r.result) as unknown),
});

const COLUMNS = 'id, gateway_id, command, args, who, role, sent_at, finished_at, outcome, result';

export class CommandLog {
  constructor(private readonly sql: Sql) {}

  async log(c: CommandLogEntry): Promise<void> {
    await this.sql.run(`INSERT INTO commands (id, gateway_id, command, args, who, role, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
      c.id,
      c.gatewayId,
      c.command,
      JSON.stringify(c.args),
      c.who,
      c.role,
      c.sentAt,
    ]);
  }

  async finish(id: string, outcome: string, result: unknown, at: number): Promise<void> {
    await this.sql.run(`UPDATE commands SET finished_at = ?, outcome = ?, result = ? WHERE id = ? AND finished_at IS NULL`, [at, outcome, result === undefined ? null : JSON.stringify(result), id]);
  }

  /** The gateway's latest commands, newest first. */
  async recent(gatewayId: string, limit: number): Promise<CommandRecord[]> {
    const rows = await this.sql.all<CommandRow>(`SELECT ${COLUMNS} FROM commands WHERE gateway_id = ? ORDER BY sent_at DESC, rowid DESC LIMIT ?`, [gatewayId, limit]);
    return rows.map(commandRecord);
  }

  /** The gateway's latest commands of one kind (who settled its unknown outcomes, say), newest first. */
  async recentNamed(gatewayId: string, command: string, limit: number): Promise<CommandRecord[]> {
    const rows = await this.sql.all<CommandRow>(`SELECT ${COLUMNS} FROM commands WHERE gateway_id = ? AND command = ? ORDER BY sent_at DESC, rowid DESC LIMIT ?`, [gatewayId, command, limit]);
    return rows.map(commandRecord);
  }

  /** Deletes up to `maxRows` entries sent before `cutoff`. Returns how many. */
  expire(cutoff: number, maxRows: number): Promise<number> {
    return this.sql.run(`DELETE FROM commands WHERE rowid IN (SELECT rowid FROM commands WHERE sent_at < ? LIMIT ?)`, [cutoff, maxRows]);
  }
}
