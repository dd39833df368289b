// The gateway registry (table gateways): every gateway that ever said hello,
// with what it last reported (config version, paths), its latest telemetry,
// when it was first and last seen, and whether it is connected now.
import type { PathTelemetry } from '../../protocol.js';
import type { TelemetrySample } from '../downsample.js';
import type { Sql } from './sql/database.js';
import { statementRuns, values } from './sql/values.js';

export interface HelloRecord {
  id: string;
  region: string;
  tags: string[];
  version: string;
  configVersion: string;
  ts: number;
  paths: PathTelemetry[];
}

export interface GatewayRecord {
  id: string;
  region: string;
  tags: string[];
  version: string;
  /** The config version the gateway last reported (hello or telemetry). */
  configVersion: string;
  paths: PathTelemetry[];
  latest: TelemetrySample | null;
  firstSeen: number;
  lastSeen: number;
  online: boolean;
}

interface GatewayRow {
  id: string;
  region: string;
  tags: string;
  version: string;
  config_version: string;
  paths: string;
  latest: string | null;
  first_seen: number;
  last_seen: number;
  online: number;
}

const gatewayRecord = (r: GatewayRow): GatewayRecord => ({
  id: r.id,
  region: r.region,
  tags: JSON.parse(r.tags) as string[],
  version: r.version,
  configVersion: r.config_version,
  paths: JSON.parse(r.paths) as PathTelemetry[],
  latest: r.latest === null ? null : (JSON.parse(r.latest) as TelemetrySample),
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  online: r.online === 1,
});

const COLUMNS = 'id, region, tags, version, config_version, paths, latest, first_seen, last_seen, online';

// The larger of two values, in both dialects (SQLite's MAX(a, b) is PostgreSQL's GREATEST).
const later = (a: string, b: string) => `CASE WHEN ${a} >= ${b} THEN ${a} ELSE ${b} END`;

export class GatewayRegistry {
  constructor(private readonly sql: Sql) {}

  /**
   * Gateways said hello (`now`: when the hub heard it): each exists from now on, and is online.
   * Each gateway at most once (one statement cannot update a row twice: HubStore.writeSessions).
   */
  async hello(hellos: readonly { hello: HelloRecord; now: number }[]): Promise<void> {
    for (const run of statementRuns(hellos)) {
      // The existing row's columns are named with the table (gateways.x): unqualified, PostgreSQL could not tell them from excluded's.
      await this.sql.run(
        `INSERT INTO gateways (id, region, tags, version, config_version, reported_ts, paths, first_seen, last_seen, online)
         ${values(run.length, '?, ?, ?, ?, ?, ?, ?, ?, ?, 1')}
         ON CONFLICT (id) DO UPDATE SET region = excluded.region, tags = excluded.tags, version = excluded.version,
           config_version = CASE WHEN excluded.reported_ts >= gateways.reported_ts THEN excluded.config_version ELSE gateways.config_version END,
           paths = CASE WHEN excluded.reported_ts >= gateways.reported_ts THEN excluded.paths ELSE gateways.paths END,
           reported_ts = ${later('gateways.reported_ts', 'excluded.reported_ts')}, last_seen = excluded.last_seen, online = 1`,
        run.flatMap(({ hello: h, now }) => [h.id, h.region, JSON.stringify(h.tags), h.version, h.configVersion, h.ts, JSON.stringify(h.paths), now, now]),
      );
    }
  }

  /** Gateways whose live connection closed at `now`. */
  async setOffline(left: readonly { id: string; now: number }[]): Promise<void> {
    for (const run of statementRuns(left)) {
      await this.sql.run(
        `UPDATE gateways SET online = 0, last_seen = ${later('gateways.last_seen', 'v.column2')}
         FROM (${values(run.length, '?, CAST(? AS BIGINT)')}) AS v
         WHERE gateways.id = v.column1`,
        run.flatMap((l) => [l.id, l.now]),
      );
    }
  }

  /** At startup: nothing is connected yet, whatever the last run left behind. */
  async markAllOffline(): Promise<void> {
    await this.sql.run(`UPDATE gateways SET online = 0 WHERE online = 1`);
  }

  /**
   * Telemetry samples (`data`, each one's JSON) of a batch: each gateway's newest becomes its
   * latest state and report, unless what is there is newer (a spooled sample is older than what
   * the gateway reported since). Only the newest of a gateway's samples can win, so only it is
   * written: the same end as applying them one by one, in a few statements.
   */
  async telemetry(samples: readonly { id: string; sample: TelemetrySample; data: string }[]): Promise<void> {
    const newest = new Map<string, { id: string; sample: TelemetrySample; data: string }>();
    for (const s of samples) {
      const seen = newest.get(s.id);
      // On a tie the later one, as one-by-one updates (<=) would leave it.
      if (!seen || s.sample.ts >= seen.sample.ts) newest.set(s.id, s);
    }
    for (const run of statementRuns([...newest.values()])) {
      // Timestamps are cast: PostgreSQL would take an untyped VALUES parameter for text.
      await this.sql.run(
        `UPDATE gateways SET latest = v.column3, latest_ts = v.column2
         FROM (${values(run.length, '?, CAST(? AS BIGINT), ?')}) AS v
         WHERE gateways.id = v.column1 AND (gateways.latest_ts IS NULL OR gateways.latest_ts <= v.column2)`,
        run.flatMap((s) => [s.id, s.sample.ts, s.data]),
      );
      await this.sql.run(
        `UPDATE gateways SET config_version = v.column2, paths = v.column3, reported_ts = v.column4
         FROM (${values(run.length, '?, ?, ?, CAST(? AS BIGINT)')}) AS v
         WHERE gateways.id = v.column1 AND gateways.reported_ts <= v.column4`,
        run.flatMap((s) => [s.id, s.sample.configVersion, JSON.stringify(s.sample.paths), s.sample.ts]),
      );
    }
  }

  /** When each gateway was last heard from (never moved back). */
  async seen(at: ReadonlyMap<string, number>): Promise<void> {
    for (const run of statementRuns([...at])) {
      await this.sql.run(
        `UPDATE gateways SET last_seen = ${later('gateways.last_seen', 'v.column2')}
         FROM (${values(run.length, '?, CAST(? AS BIGINT)')}) AS v
         WHERE gateways.id = v.column1`,
        run.flat(),
      );
    }
  }

  async list(): Promise<GatewayRecord[]> {
    return (await this.sql.all<GatewayRow>(`SELECT ${COLUMNS} FROM gateways ORDER BY id`)).map(gatewayRecord);
  }

  /** Up to `limit` gateways after the id `after` (from the first without it), in id order: a stable order to page through. */
  async page(after: string | undefined, limit: number): Promise<GatewayRecord[]> {
    const rows =
      after === undefined
        ? await this.sql.all<GatewayRow>(`SELECT ${COLUMNS} FROM gateways ORDER BY id LIMIT ?`, [limit])
        : await this.sql.all<GatewayRow>(`SELECT ${COLUMNS} FROM gateways WHERE id > ? ORDER BY id LIMIT ?`, [after, limit]);
    return rows.map(gatewayRecord);
  }

  async get(id: string): Promise<GatewayRecord | undefined> {
    const row = await this.sql.get<GatewayRow>(`SELECT ${COLUMNS} FROM gateways WHERE id = ?`, [id]);
    return row && gatewayRecord(row);
  }
}
