// The command log (table commands): every command sent to a gateway, who sent
// it, and how it ended.
import type Database from 'better-sqlite3';

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

export class CommandLog {
  readonly #stmt;

  constructor(d: Database.Database) {
    this.#stmt = {
      log: d.prepare(`INSERT INTO commands (id, gateway_id, command, args, who, role, sent_at) VALUES (@id, @gatewayId, @command, @args, @who, @role, @sentAt)`),
      finish: d.prepare(`UPDATE commands SET finished_at = @at, outcome = @outcome, result = @result WHERE id = @id AND finished_at IS NULL`),
      recent: d.prepare(`SELECT * FROM commands WHERE gateway_id = ? ORDER BY sent_at DESC, rowid DESC LIMIT ?`),
      recentNamed: d.prepare(`SELECT * FROM commands WHERE gateway_id = ? AND command = ? ORDER BY sent_at DESC, rowid DESC LIMIT ?`),
      expire: d.prepare(`DELETE FROM commands WHERE rowid IN (SELECT rowid FROM commands WHERE sent_at < ? LIMIT ?)`),
    };
  }

  log(c: CommandLogEntry): void {
    this.#stmt.log.run({ ...c, args: JSON.stringify(c.args) });
  }

  finish(id: string, outcome: string, result: unknown, at: number): void {
    this.#stmt.finish.run({ id, outcome, result: result === undefined ? null : JSON.stringify(result), at });
  }

  /** The gateway's latest commands, newest first. */
  recent(gatewayId: string, limit: number): CommandRecord[] {
    return (this.#stmt.recent.all(gatewayId, limit) as CommandRow[]).map(commandRecord);
  }

  /** The gateway's latest commands of one kind (who settled its unknown outcomes, say), newest first. */
  recentNamed(gatewayId: string, command: string, limit: number): CommandRecord[] {
    return (this.#stmt.recentNamed.all(gatewayId, command, limit) as CommandRow[]).map(commandRecord);
  }

  /** Deletes up to `maxRows` entries sent before `cutoff`. Returns how many. */
  expire(cutoff: number, maxRows: number): number {
    return this.#stmt.expire.run(cutoff, maxRows).changes;
  }
}
