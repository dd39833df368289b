// Telemetry history (tables telemetry and telemetry_minute): every sample as
// sent, until housekeeping rolls the old ones up into one row per gateway and
// minute, and later expires those.
import type Database from 'better-sqlite3';
import { mergeRollups, minuteOf, rollUp, rollupView, type Rollup, type RollupView, type TelemetrySample } from '../downsample.js';

export type TelemetryPoint = ({ resolution: 'raw' } & TelemetrySample) | RollupView;

export class TelemetryHistory {
  readonly #stmt;

  constructor(d: Database.Database) {
    this.#stmt = {
      insert: d.prepare(`INSERT INTO telemetry (gateway_id, ts, data) VALUES (?, ?, ?)`),
      rawSince: d.prepare(`SELECT ts, data FROM telemetry WHERE gateway_id = ? AND ts >= ? ORDER BY ts LIMIT ?`),
      minutesSince: d.prepare(`SELECT minute, data FROM telemetry_minute WHERE gateway_id = ? AND minute >= ? ORDER BY minute LIMIT ?`),
      oldRaw: d.prepare(`SELECT rowid AS rid, gateway_id, ts, data FROM telemetry WHERE ts < ? ORDER BY ts LIMIT ?`),
      deleteRaw: d.prepare(`DELETE FROM telemetry WHERE rowid = ?`),
      getMinute: d.prepare(`SELECT data FROM telemetry_minute WHERE gateway_id = ? AND minute = ?`),
      putMinute: d.prepare(`INSERT OR REPLACE INTO telemetry_minute (gateway_id, minute, data) VALUES (?, ?, ?)`),
      expireMinutes: d.prepare(
        `DELETE FROM telemetry_minute WHERE (gateway_id, minute) IN (SELECT gateway_id, minute FROM telemetry_minute WHERE minute < ? LIMIT ?)`,
      ),
    };
  }

  /** Keeps a sample; `data` is its JSON. */
  insert(gatewayId: string, sample: TelemetrySample, data: string): void {
    this.#stmt.insert.run(gatewayId, sample.ts, data);
  }

  /** Telemetry since `since`: minute roll-ups where raw messages were rolled up, raw messages after. Oldest first. */
  since(id: string, since: number, limit: number): { points: TelemetryPoint[]; truncated: boolean } {
    const minutes = (this.#stmt.minutesSince.all(id, minuteOf(since), limit + 1) as { minute: number; data: string }[]).map((r) =>
      rollupView(r.minute, JSON.parse(r.data) as Rollup),
    );
    const raw = (this.#stmt.rawSince.all(id, since, limit + 1) as { ts: number; data: string }[]).map((r) => ({ resolution: 'raw' as const, ...(JSON.parse(r.data) as TelemetrySample) }));
    const points: TelemetryPoint[] = [...minutes, ...raw].sort((a, b) => a.ts - b.ts);
    return { points: points.slice(0, limit), truncated: points.length > limit };
  }

  /** Rolls up to `maxRows` raw samples older than `before` into minute roll-ups (merged with any already there). Returns how many. */
  rollUpOlderThan(before: number, maxRows: number): number {
    const s = this.#stmt;
    const rows = s.oldRaw.all(before, maxRows) as { rid: number; gateway_id: string; ts: number; data: string }[];
    const byGateway = new Map<string, TelemetrySample[]>();
    for (const r of rows) {
      const list = byGateway.get(r.gateway_id) ?? [];
      list.push(JSON.parse(r.data) as TelemetrySample);
      byGateway.set(r.gateway_id, list);
    }
    for (const [gatewayId, samples] of byGateway) {
      for (const [minute, rollup] of rollUp(samples)) {
        const existing = s.getMinute.get(gatewayId, minute) as { data: string } | undefined;
        const merged = existing ? mergeRollups(JSON.parse(existing.data) as Rollup, rollup) : rollup;
        s.putMinute.run(gatewayId, minute, JSON.stringify(merged));
      }
    }
    for (const r of rows) s.deleteRaw.run(r.rid);
    return rows.length;
  }

  /** Deletes up to `maxRows` minute roll-ups from before `cutoff`. Returns how many. */
  expire(cutoff: number, maxRows: number): number {
    return this.#stmt.expireMinutes.run(cutoff, maxRows).changes;
  }
}
