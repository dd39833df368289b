// The event log (table events): what gateways report (link changes, unknown
// outcomes...) and what the hub saw (connects, disconnects), per gateway.
import type Database from 'better-sqlite3';

export interface NewEvent {
  gatewayId: string;
  ts: number;
  source: 'gateway' | 'hub';
  event: string;
  details: Record<string, unknown>;
}

export interface EventRecord extends NewEvent {
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

export class EventLog {
  readonly #stmt;

  constructor(d: Database.Database) {
    this.#stmt = {
      insert: d.prepare(`INSERT INTO events (gateway_id, ts, source, event, details) VALUES (@gatewayId, @ts, @source, @event, @details)`),
      recent: d.prepare(`SELECT seq, gateway_id, ts, source, event, details FROM events WHERE gateway_id = ? ORDER BY seq DESC LIMIT ?`),
      recentNamed: d.prepare(`SELECT seq, gateway_id, ts, source, event, details FROM events WHERE gateway_id = ? AND event = ? ORDER BY seq DESC LIMIT ?`),
      expire: d.prepare(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts < ? LIMIT ?)`),
    };
  }

  insert(e: NewEvent): void {
    this.#stmt.insert.run({ ...e, details: JSON.stringify(e.details) });
  }

  /** The gateway's latest events, newest first. */
  recent(id: string, limit: number): EventRecord[] {
    return (this.#stmt.recent.all(id, limit) as EventRow[]).map(eventRecord);
  }

  /** The gateway's latest events of one kind (its unknown outcomes, say), newest first. */
  recentNamed(id: string, event: string, limit: number): EventRecord[] {
    return (this.#stmt.recentNamed.all(id, event, limit) as EventRow[]).map(eventRecord);
  }

  /** Deletes up to `maxRows` events from before `cutoff`. Returns how many. */
  expire(cutoff: number, maxRows: number): number {
    return this.#stmt.expire.run(cutoff, maxRows).changes;
  }
}
