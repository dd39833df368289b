// Hub replicas and presence (tables hub_replicas, hub_presence): each replica's
// last heartbeat, and which replica holds each gateway's websocket. A
// presence row counts only while its replica's heartbeat is fresh, so a
// replica that died without a word (its rows still there) stops counting on
// its own once its heartbeat lapses.
import type { Sql } from './sql/database.js';
import { statementRuns, values } from './sql/values.js';

export class Presence {
  constructor(private readonly sql: Sql) {}

  /** The replica is alive at `now`. */
  async heartbeat(replica: string, now: number): Promise<void> {
    await this.sql.run(`INSERT INTO hub_replicas (id, heartbeat_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, [replica, now]);
  }

  /**
   * Each gateway's live websocket is on `replica` since `since`. A newer hello anywhere
   * replaces the row; an older one written late (its replica's queue was slower) does not.
   * Each gateway at most once (one statement cannot update a row twice).
   */
  async hold(held: readonly { gatewayId: string; replica: string; since: number }[]): Promise<void> {
    for (const run of statementRuns(held)) {
      await this.sql.run(
        `INSERT INTO hub_presence (gateway_id, replica_id, since) ${values(run.length, '?, ?, ?')}
         ON CONFLICT (gateway_id) DO UPDATE SET replica_id = excluded.replica_id, since = excluded.since WHERE excluded.since >= hub_presence.since`,
        run.flatMap((h) => [h.gatewayId, h.replica, h.since]),
      );
    }
  }

  /** Each gateway's websocket on `replica` closed. A row another replica wrote since (the gateway moved) stays. */
  async release(released: readonly { gatewayId: string; replica: string }[]): Promise<void> {
    for (const run of statementRuns(released)) {
      await this.sql.run(
        `DELETE FROM hub_presence WHERE (gateway_id, replica_id) IN (${values(run.length, '?, ?')})`,
        run.flatMap((r) => [r.gatewayId, r.replica]),
      );
    }
  }

  /** The replica whose heartbeat is at `freshSince` or later holding the gateway, if any. */
  async holder(gatewayId: string, freshSince: number): Promise<string | undefined> {
    const row = await this.sql.get<{ replica_id: string }>(
      `SELECT p.replica_id FROM hub_presence p JOIN hub_replicas r ON r.id = p.replica_id WHERE p.gateway_id = ? AND r.heartbeat_at >= ?`,
      [gatewayId, freshSince],
    );
    return row?.replica_id;
  }

  /** Whether the replica's heartbeat is at `freshSince` or later. */
  async isLive(replica: string, freshSince: number): Promise<boolean> {
    return (await this.sql.get<{ id: string }>(`SELECT id FROM hub_replicas WHERE id = ? AND heartbeat_at >= ?`, [replica, freshSince])) !== undefined;
  }

  /** Every gateway held by a replica whose heartbeat is at `freshSince` or later. */
  async online(freshSince: number): Promise<Set<string>> {
    const rows = await this.sql.all<{ gateway_id: string }>(`SELECT p.gateway_id FROM hub_presence p JOIN hub_replicas r ON r.id = p.replica_id WHERE r.heartbeat_at >= ?`, [freshSince]);
    return new Set(rows.map((r) => r.gateway_id));
  }

  /** Per region, the gateways held by live replicas other than `replica`. */
  async heldElsewhereByRegion(replica: string, freshSince: number): Promise<Map<string, number>> {
    const rows = await this.sql.all<{ region: string; n: number | string }>(
      `SELECT g.region, count(*) AS n FROM hub_presence p JOIN hub_replicas r ON r.id = p.replica_id JOIN gateways g ON g.id = p.gateway_id
       WHERE r.heartbeat_at >= ? AND p.replica_id <> ? GROUP BY g.region`,
      [freshSince, replica],
    );
    // PostgreSQL's count is a bigint, which node-postgres hands over as a string.
    return new Map(rows.map((r) => [r.region, Number(r.n)]));
  }

  /** The replica leaves (it shuts down, or it lapsed long ago): its row and its presence go. */
  async forget(replica: string): Promise<void> {
    await this.sql.run(`DELETE FROM hub_presence WHERE replica_id = ?`, [replica]);
    await this.sql.run(`DELETE FROM hub_replicas WHERE id = ?`, [replica]);
  }

  /** Replicas whose heartbeat is older than `cutoff`: dead, their rows only kept the table growing. */
  async lapsedBefore(cutoff: number): Promise<string[]> {
    return (await this.sql.all<{ id: string }>(`SELECT id FROM hub_replicas WHERE heartbeat_at < ?`, [cutoff])).map((r) => r.id);
  }
}
