// The event log (table events): what gateways report (link changes, unknown
// outcomes...) and what the hub saw (connects, disconnects), per gateway.
import type { Sql } from './sql/database.js';

export interface NewEvent {
  gatewayId: string;
  ts: number;
  source: 'gateway' | 'hub';
  event: string;
  details: Record<string, unknown>;
  /** The gateway's message id: a resend of an event already stored is skipped. None for the hub's own. */
  msgId?: string;
}

export interface EventRecord extends Omit<NewEvent, 'msgId'> {
  seq: number;
}

interface EventRow {
  seq: number;
  gateway_id: string;
  ts: number;
  source: 'gateway' | 'hub';
  event: string;
  details: string;
}

const eventRecord = (r: EventRow): EventRecord => ({
  seq: r.seq,
  gatewayId: r.gateway_id,
  ts: r.ts,
  source: r.source,
  event: r.event,
  details: JSON.parse(r.details) as Record<string, unknown>,
});

const COLUMNS = 'seq, gateway_id, ts, source, event, details';

export class EventLog {
  constructor(private readonly sql: Sql) {}

  async insert(e: NewEvent): Promise<void> {
    await this.sql.run(`INSERT INTO events (gateway_id, ts, source, event, details, msg_id) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, [
      e.gatewayId,
      e.ts,
      e.source,
      e.event,
      JSON.stringify(e.details),
      e.msgId ?? null,
    ]);
  }

  /** The gateway's latest events, newest first. */
  async recent(id: string, limit: number): Promise<EventRecord[]> {
    return (await this.sql.all<EventRow>(`SELECT ${COLUMNS} FROM events WHERE gateway_id = ? ORDER BY seq DESC LIMIT ?`, [id, limit])).map(eventRecord);
  }

  /** The gateway's latest events of one kind (its unknown outcomes, say), newest first. */
  async recentNamed(id: string, event: string, limit: number): Promise<EventRecord[]> {
    return (await this.sql.all<EventRow>(`SELECT ${COLUMNS} FROM events WHERE gateway_id = ? AND event = ? ORDER BY seq DESC LIMIT ?`, [id, event, limit])).map(eventRecord);
  }

  /** Deletes up to `maxRows` events from before `cutoff`. Returns how many. */
  expire(cutoff: number, maxRows: number): Promise<number> {
    return this.sql.run(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts < ? LIMIT ?)`, [cutoff, maxRows]);
  }
}
