// Telemetry history (tables telemetry and telemetry_minute): every sample as
// sent, until housekeeping rolls the old ones up into one row per gateway and
// minute, and later expires those.
import { mergeRollups, minuteOf, rollUp, rollupView, type Rollup, type RollupView, type TelemetrySample } from '../downsample.js';
import type { Sql } from './sql/database.js';
import { statementRuns, values } from './sql/values.js';

export type TelemetryPoint = ({ resolution: 'raw' } & TelemetrySample) | RollupView;

export class TelemetryHistory {
  constructor(private readonly sql: Sql) {}

  /** Keeps samples, as sent; `data` is each one's JSON. A message id the gateway already had stored is skipped: a resend. */
  async insert(samples: readonly { id: string; msgId: string | undefined; sample: TelemetrySample; data: string }[]): Promise<void> {
    for (const run of statementRuns(samples)) {
      await this.sql.run(
        `INSERT INTO telemetry (gateway_id, ts, data, msg_id) ${values(run.length, '?, ?, ?, ?')} ON CONFLICT DO NOTHING`,
        run.flatMap((s) => [s.id, s.sample.ts, s.data, s.msgId ?? null]),
      );
    }
  }

  /** Telemetry since `since`: minute roll-ups where raw messages were rolled up, raw messages after. Oldest first. */
  async since(id: string, since: number, limit: number): Promise<{ points: TelemetryPoint[]; truncated: boolean }> {
    const minuteRows = await this.sql.all<{ minute: number; data: string }>(`SELECT minute, data FROM telemetry_minute WHERE gateway_id = ? AND minute >= ? ORDER BY minute LIMIT ?`, [
      id,
      minuteOf(since),
      limit + 1,
    ]);
    const rawRows = await this.sql.all<{ ts: number; data: string }>(`SELECT ts, data FROM telemetry WHERE gateway_id = ? AND ts >= ? ORDER BY ts LIMIT ?`, [id, since, limit + 1]);
    const minutes = minuteRows.map((r) => rollupView(r.minute, JSON.parse(r.data) as Rollup));
    const raw = rawRows.map((r) => ({ resolution: 'raw' as const, ...(JSON.parse(r.data) as TelemetrySample) }));
    const points: TelemetryPoint[] = [...minutes, ...raw].sort((a, b) => a.ts - b.ts);
    return { points: points.slice(0, limit), truncated: points.length > limit };
  }

  /** Rolls up to `maxRows` raw samples older than `before` into minute roll-ups (merged with any already there). Returns how many. */
  async rollUpOlderThan(before: number, maxRows: number): Promise<number> {
    const rows = await this.sql.all<{ rid: number; gateway_id: string; ts: number; data: string }>(`SELECT rowid AS rid, gateway_id, ts, data FROM telemetry WHERE ts < ? ORDER BY ts LIMIT ?`, [
      before,
      maxRows,
    ]);
    const byGateway = new Map<string, TelemetrySample[]>();
    for (const r of rows) {
      const list = byGateway.get(r.gateway_id) ?? [];
      list.push(JSON.parse(r.data) as TelemetrySample);
      byGateway.set(r.gateway_id, list);
    }
    const rollups = [...byGateway].flatMap(([gatewayId, samples]) => [...rollUp(samples)].map(([minute, rollup]) => ({ gatewayId, minute, rollup })));
    // A few statements per run of rows, not one or two per row: a pass holds the store's queue while it runs.
    for (const run of statementRuns(rollups)) {
      const existing = await this.sql.all<{ gateway_id: string; minute: number; data: string }>(
        `SELECT gateway_id, minute, data FROM telemetry_minute WHERE (gateway_id, minute) IN (${values(run.length, '?, CAST(? AS BIGINT)')})`,
        run.flatMap((r) => [r.gatewayId, r.minute]),
      );
      const before = new Map(existing.map((e) => [`${e.gateway_id}\n${e.minute}`, JSON.parse(e.data) as Rollup]));
      const merged = run.map((r) => {
        const old = before.get(`${r.gatewayId}\n${r.minute}`);
        return [r.gatewayId, r.minute, JSON.stringify(old ? mergeRollups(old, r.rollup) : r.rollup)];
      });
      await this.sql.run(`INSERT INTO telemetry_minute (gateway_id, minute, data) ${values(run.length, '?, ?, ?')} ON CONFLICT (gateway_id, minute) DO UPDATE SET data = excluded.data`, merged.flat());
    }
    for (const run of statementRuns(rows)) {
      await this.sql.run(`DELETE FROM telemetry WHERE rowid IN (${values(run.length, 'CAST(? AS BIGINT)')})`, run.map((r) => r.rid));
    }
    return rows.length;
  }

  /** Deletes up to `maxRows` minute roll-ups from before `cutoff`. Returns how many. */
  expire(cutoff: number, maxRows: number): Promise<number> {
    return this.sql.run(`DELETE FROM telemetry_minute WHERE (gateway_id, minute) IN (SELECT gateway_id, minute FROM telemetry_minute WHERE minute < ? LIMIT ?)`, [cutoff, maxRows]);
  }
}
