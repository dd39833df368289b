// The gateway registry (table gateways): every gateway that ever said hello,
// with what it last reported (config version, paths), its latest telemetry,
// when it was first and last seen, and whether it is connected now.
import type Database from 'better-sqlite3';
import type { PathTelemetry } from '../../protocol.js';
import type { TelemetrySample } from '../downsample.js';

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

export class GatewayRegistry {
  readonly #stmt;

  constructor(d: Database.Database) {
    this.#stmt = {
      hello: d.prepare(
        `INSERT INTO gateways (id, region, tags, version, config_version, reported_ts, paths, first_seen, last_seen, online)
         VALUES (@id, @region, @tags, @version, @configVersion, @ts, @paths, @now, @now, 1)
         ON CONFLICT (id) DO UPDATE SET region = excluded.region, tags = excluded.tags, version = excluded.version,
           config_version = CASE WHEN excluded.reported_ts >= reported_ts THEN excluded.config_version ELSE config_version END,
           paths = CASE WHEN excluded.reported_ts >= reported_ts THEN excluded.paths ELSE paths END,
           reported_ts = MAX(reported_ts, excluded.reported_ts), last_seen = excluded.last_seen, online = 1`,
      ),
      offline: d.prepare(`UPDATE gateways SET online = 0, last_seen = MAX(last_seen, @now) WHERE id = @id`),
      allOffline: d.prepare(`UPDATE gateways SET online = 0 WHERE online = 1`),
      seen: d.prepare(`UPDATE gateways SET last_seen = MAX(last_seen, @at) WHERE id = @id`),
      latest: d.prepare(`UPDATE gateways SET latest = @data, latest_ts = @ts WHERE id = @id AND (latest_ts IS NULL OR latest_ts <= @ts)`),
      reported: d.prepare(`UPDATE gateways SET config_version = @configVersion, paths = @paths, reported_ts = @ts WHERE id = @id AND reported_ts <= @ts`),
      list: d.prepare(`SELECT ${COLUMNS} FROM gateways ORDER BY id`),
      get: d.prepare(`SELECT ${COLUMNS} FROM gateways WHERE id = ?`),
    };
  }

  /** A gateway said hello: it exists from now on, and is online. */
  hello(h: HelloRecord, now: number): void {
    this.#stmt.hello.run({ ...h, tags: JSON.stringify(h.tags), paths: JSON.stringify(h.paths), now });
  }

  setOffline(id: string, now: number): void {
    this.#stmt.offline.run({ id, now });
  }

  /** At startup: nothing is connected yet, whatever the last run left behind. */
  markAllOffline(): void {
    this.#stmt.allOffline.run();
  }

  /** A telemetry sample (`data`, its JSON) becomes the gateway's latest state and report, unless it is older than what is there (a spooled one). */
  telemetry(id: string, sample: TelemetrySample, data: string): void {
    this.#stmt.latest.run({ id, ts: sample.ts, data });
    this.#stmt.reported.run({ id, ts: sample.ts, configVersion: sample.configVersion, paths: JSON.stringify(sample.paths) });
  }

  seen(id: string, at: number): void {
    this.#stmt.seen.run({ id, at });
  }

  list(): GatewayRecord[] {
    return (this.#stmt.list.all() as GatewayRow[]).map(gatewayRecord);
  }

  get(id: string): GatewayRecord | undefined {
    const row = this.#stmt.get.get(id) as GatewayRow | undefined;
    return row && gatewayRecord(row);
  }
}
