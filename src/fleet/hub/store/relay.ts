// Messages between hub replicas (table hub_relay): a row per message, and a
// NOTIFY on the addressee's channel naming the row. The row, not the NOTIFY
// payload, carries the message: payloads are limited to 8000 bytes and a
// config.apply's YAML or a queue.list's answer can be larger. Taking a row
// deletes it, so a message is handled once even if its notification came twice.
import type { Sql } from './sql/database.js';

/** The channel a replica LISTENs on: one per replica, so a message wakes only its addressee. */
export const relayChannel = (replica: string) => `storegw_hub_${replica}`;

export class RelayMailbox {
  constructor(private readonly sql: Sql) {}

  /**
   * Writes the message for `to` and notifies it (PostgreSQL only); returns its row's number.
   * One statement, so one transaction and one round trip (a routed command makes two of
   * these): the notification is delivered at its commit, when the row is visible, and never
   * without the row.
   */
  async put(to: string, body: string, now: number): Promise<number> {
    const row = await this.sql.get<{ seq: number | string }>(
      `WITH r AS (INSERT INTO hub_relay (to_replica, body, created_at) VALUES (?, ?, ?) RETURNING seq)
       SELECT r.seq, pg_notify(?, CAST(r.seq AS TEXT)) FROM r`,
      [to, body, now, relayChannel(to)],
    );
    return Number(row!.seq);
  }

  /**
   * The message `seq` for `to`, taken out of the table; undefined when already taken (or not
   * its). Its writer takes it back the same way: whoever deletes the row has the message.
   */
  async take(to: string, seq: number): Promise<string | undefined> {
    return (await this.sql.get<{ body: string }>(`DELETE FROM hub_relay WHERE seq = ? AND to_replica = ? RETURNING body`, [seq, to]))?.body;
  }

  /** Messages for `to` written while it was not listening (its LISTEN connection was being reopened). */
  async waiting(to: string): Promise<number[]> {
    return (await this.sql.all<{ seq: number }>(`SELECT seq FROM hub_relay WHERE to_replica = ? ORDER BY seq`, [to])).map((r) => r.seq);
  }

  /** Deletes messages nobody took before `cutoff` (their addressee died). Returns how many. */
  expire(cutoff: number): Promise<number> {
    return this.sql.run(`DELETE FROM hub_relay WHERE created_at < ?`, [cutoff]);
  }
}
