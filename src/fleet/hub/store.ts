// The hub's database (better-sqlite3, on the hub's event loop): the registry
// with each gateway's latest state, telemetry history (raw, then per-minute
// roll-ups), events, the desired configs, the command log and rollouts.
// Telemetry and events arrive in batches (ingest.ts): one transaction per
// flush, however many gateways sent something.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { PathTelemetry } from '../protocol.js';
import { mergeRollups, minuteOf, rollUp, rollupView, type Rollup, type RollupView, type TelemetrySample } from './downsample.js';
import { HUB_APPLICATION_ID, HUB_MIGRATIONS, HUB_SCHEMA_VERSION } from './store-schema.js';
import { privateDbFile } from '../../util/private-db-file.js';
import { migrate, sqliteFileProblem, type SqliteFileProblem } from '../../util/sqlite-file.js';

function hubProblem(p: SqliteFileProblem): string {
  switch (p.kind) {
    case 'foreign':
      return 'is an SQLite database of another application (a gateway journal?), not a storegw hub database; refusing to touch it';
    case 'newer':
      return `hub schema version ${p.version} is newer than this storegw understands (${HUB_SCHEMA_VERSION}); upgrade storegw`;
    case 'damaged':
      return `${p.detail}; the file is kept as it is — restore it or move it aside`;
  }
}

export class HubStoreError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'HubStoreError';
  }
}

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

export type ApplyStatus = 'pending' | 'sent' | 'applied' | 'failed';

export interface DesiredRecord {
  gatewayId: string;
  yaml: string;
  version: string;
  setBy: string;
  setAt: number;
  applyStatus: ApplyStatus;
  applyError: string | null;
  applyAt: number | null;
}

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

export interface IngestBatch {
  telemetry: { gatewayId: string; sample: TelemetrySample }[];
  events: NewEvent[];
  /** Gateway id -> when it was last heard from. */
  seen: Map<string, number>;
}

export type TelemetryPoint = ({ resolution: 'raw' } & TelemetrySample) | RollupView;

export interface HousekeepingResult {
  rolledUp: number;
  expired: number;
  /** More work was left for another pass (each pass is bounded so the event loop keeps turning). */
  more: boolean;
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

interface DesiredRow {
  gateway_id: string;
  yaml: string;
  version: string;
  set_by: string;
  set_at: number;
  apply_status: ApplyStatus;
  apply_error: string | null;
  apply_at: number | null;
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

const desiredRecord = (r: DesiredRow): DesiredRecord => ({
  gatewayId: r.gateway_id,
  yaml: r.yaml,
  version: r.version,
  setBy: r.set_by,
  setAt: r.set_at,
  applyStatus: r.apply_status,
  applyError: r.apply_error,
  applyAt: r.apply_at,
});

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

export class HubStore {
  readonly #db: Database.Database;
  readonly #stmt;

  private constructor(db: Database.Database) {
    this.#db = db;
    const d = db;
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
      insertTelemetry: d.prepare(`INSERT INTO telemetry (gateway_id, ts, data) VALUES (?, ?, ?)`),
      latest: d.prepare(`UPDATE gateways SET latest = @data, latest_ts = @ts WHERE id = @id AND (latest_ts IS NULL OR latest_ts <= @ts)`),
      reported: d.prepare(`UPDATE gateways SET config_version = @configVersion, paths = @paths, reported_ts = @ts WHERE id = @id AND reported_ts <= @ts`),
      insertEvent: d.prepare(`INSERT INTO events (gateway_id, ts, source, event, details) VALUES (@gatewayId, @ts, @source, @event, @details)`),
      list: d.prepare(`SELECT id, region, tags, version, config_version, paths, latest, first_seen, last_seen, online FROM gateways ORDER BY id`),
      get: d.prepare(`SELECT id, region, tags, version, config_version, paths, latest, first_seen, last_seen, online FROM gateways WHERE id = ?`),
      rawSince: d.prepare(`SELECT ts, data FROM telemetry WHERE gateway_id = ? AND ts >= ? ORDER BY ts LIMIT ?`),
      minutesSince: d.prepare(`SELECT minute, data FROM telemetry_minute WHERE gateway_id = ? AND minute >= ? ORDER BY minute LIMIT ?`),
      events: d.prepare(`SELECT seq, gateway_id, ts, source, event, details FROM events WHERE gateway_id = ? ORDER BY seq DESC LIMIT ?`),
      eventsNamed: d.prepare(`SELECT seq, gateway_id, ts, source, event, details FROM events WHERE gateway_id = ? AND event = ? ORDER BY seq DESC LIMIT ?`),
      getDesired: d.prepare(`SELECT * FROM desired WHERE gateway_id = ?`),
      allDesired: d.prepare(`SELECT * FROM desired`),
      setDesired: d.prepare(
        `INSERT INTO desired (gateway_id, yaml, version, set_by, set_at, apply_status, apply_error, apply_at)
         VALUES (@gatewayId, @yaml, @version, @setBy, @setAt, 'pending', NULL, NULL)
         ON CONFLICT (gateway_id) DO UPDATE SET yaml = excluded.yaml, version = excluded.version, set_by = excluded.set_by,
           set_at = excluded.set_at, apply_status = 'pending', apply_error = NULL, apply_at = NULL`,
      ),
      clearDesired: d.prepare(`DELETE FROM desired WHERE gateway_id = ?`),
      applyStatus: d.prepare(`UPDATE desired SET apply_status = @status, apply_error = @error, apply_at = @at WHERE gateway_id = @gatewayId AND version = @version`),
      logCommand: d.prepare(`INSERT INTO commands (id, gateway_id, command, args, who, role, sent_at) VALUES (@id, @gatewayId, @command, @args, @who, @role, @sentAt)`),
      finishCommand: d.prepare(`UPDATE commands SET finished_at = @at, outcome = @outcome, result = @result WHERE id = @id AND finished_at IS NULL`),
      commands: d.prepare(`SELECT * FROM commands WHERE gateway_id = ? ORDER BY sent_at DESC, rowid DESC LIMIT ?`),
      commandsNamed: d.prepare(`SELECT * FROM commands WHERE gateway_id = ? AND command = ? ORDER BY sent_at DESC, rowid DESC LIMIT ?`),
      saveRollout: d.prepare(
        `INSERT INTO rollouts (id, created_at, status, state) VALUES (@id, @createdAt, @status, @state)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, state = excluded.state`,
      ),
      getRollout: d.prepare(`SELECT state FROM rollouts WHERE id = ?`),
      runningRollouts: d.prepare(`SELECT id, created_at, state FROM rollouts WHERE status IN ('canary', 'rolling')`),
      oldRaw: d.prepare(`SELECT rowid AS rid, gateway_id, ts, data FROM telemetry WHERE ts < ? ORDER BY ts LIMIT ?`),
      deleteRaw: d.prepare(`DELETE FROM telemetry WHERE rowid = ?`),
      getMinute: d.prepare(`SELECT data FROM telemetry_minute WHERE gateway_id = ? AND minute = ?`),
      putMinute: d.prepare(`INSERT OR REPLACE INTO telemetry_minute (gateway_id, minute, data) VALUES (?, ?, ?)`),
      expireMinutes: d.prepare(
        `DELETE FROM telemetry_minute WHERE (gateway_id, minute) IN (SELECT gateway_id, minute FROM telemetry_minute WHERE minute < ? LIMIT ?)`,
      ),
      expireEvents: d.prepare(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts < ? LIMIT ?)`),
      expireCommands: d.prepare(`DELETE FROM commands WHERE rowid IN (SELECT rowid FROM commands WHERE sent_at < ? LIMIT ?)`),
    };
  }

  /** Opens (or creates) the hub database. Throws HubStoreError for a foreign, newer, damaged or unreadable file. */
  static open(file: string): HubStore {
    const problem = sqliteFileProblem(file, HUB_APPLICATION_ID, HUB_SCHEMA_VERSION);
    if (problem) throw new HubStoreError(file, hubProblem(problem));
    let db: Database.Database;
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      // Desired configs and the command log of every store.
      privateDbFile(file);
      db = new Database(file);
    } catch (e) {
      throw new HubStoreError(file, `cannot open (${(e as { code?: string }).code ?? (e as Error).message})`);
    }
    try {
      db.pragma('journal_mode = WAL');
      // NORMAL: a power cut may lose the last second of telemetry, never the
      // database; a full fsync per flush would buy nothing the gateways cannot resend.
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      migrate(db, HUB_APPLICATION_ID, HUB_MIGRATIONS);
      return new HubStore(db);
    } catch (e) {
      db.close();
      throw new HubStoreError(file, `cannot prepare the hub database (${(e as Error).message})`);
    }
  }

  close(): void {
    this.#db.close();
  }

  // --- registry

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

  listGateways(): GatewayRecord[] {
    return (this.#stmt.list.all() as GatewayRow[]).map(gatewayRecord);
  }

  getGateway(id: string): GatewayRecord | undefined {
    const row = this.#stmt.get.get(id) as GatewayRow | undefined;
    return row && gatewayRecord(row);
  }

  // --- telemetry and events

  /** Writes a batch in one transaction: telemetry rows, each gateway's latest state, events, last-seen times. */
  writeBatch(batch: IngestBatch): void {
    const s = this.#stmt;
    this.#db.transaction(() => {
      for (const { gatewayId, sample } of batch.telemetry) {
        const data = JSON.stringify(sample);
        s.insertTelemetry.run(gatewayId, sample.ts, data);
        // A spooled message is older than what the gateway reported since: it goes to history, not to the latest state.
        s.latest.run({ id: gatewayId, ts: sample.ts, data });
        s.reported.run({ id: gatewayId, ts: sample.ts, configVersion: sample.configVersion, paths: JSON.stringify(sample.paths) });
      }
      for (const e of batch.events) s.insertEvent.run({ ...e, details: JSON.stringify(e.details) });
      for (const [id, at] of batch.seen) s.seen.run({ id, at });
    })();
  }

  /** Telemetry since `since`: minute roll-ups where raw messages were rolled up, raw messages after. Oldest first. */
  telemetrySince(id: string, since: number, limit: number): { points: TelemetryPoint[]; truncated: boolean } {
    const minutes = (this.#stmt.minutesSince.all(id, minuteOf(since), limit + 1) as { minute: number; data: string }[]).map((r) =>
      rollupView(r.minute, JSON.parse(r.data) as Rollup),
    );
    const raw = (this.#stmt.rawSince.all(id, since, limit + 1) as { ts: number; data: string }[]).map((r) => ({ resolution: 'raw' as const, ...(JSON.parse(r.data) as TelemetrySample) }));
    const points: TelemetryPoint[] = [...minutes, ...raw].sort((a, b) => a.ts - b.ts);
    return { points: points.slice(0, limit), truncated: points.length > limit };
  }

  recentEvents(id: string, limit: number): EventRecord[] {
    return (this.#stmt.events.all(id, limit) as EventRow[]).map(eventRecord);
  }

  /** The gateway's latest events of one kind (its unknown outcomes, say), newest first. */
  recentEventsNamed(id: string, event: string, limit: number): EventRecord[] {
    return (this.#stmt.eventsNamed.all(id, event, limit) as EventRow[]).map(eventRecord);
  }

  // --- desired config

  getDesired(id: string): DesiredRecord | undefined {
    const row = this.#stmt.getDesired.get(id) as DesiredRow | undefined;
    return row && desiredRecord(row);
  }

  allDesired(): DesiredRecord[] {
    return (this.#stmt.allDesired.all() as DesiredRow[]).map(desiredRecord);
  }

  setDesired(d: { gatewayId: string; yaml: string; version: string; setBy: string; setAt: number }): void {
    this.#stmt.setDesired.run(d);
  }

  clearDesired(id: string): void {
    this.#stmt.clearDesired.run(id);
  }

  /** Records how applying `version` went; ignored when the desired config has changed since. */
  setApplyStatus(gatewayId: string, version: string, status: ApplyStatus, error: string | null, at: number): void {
    this.#stmt.applyStatus.run({ gatewayId, version, status, error, at });
  }

  // --- command log

  logCommand(c: CommandLogEntry): void {
    this.#stmt.logCommand.run({ ...c, args: JSON.stringify(c.args) });
  }

  finishCommand(id: string, outcome: string, result: unknown, at: number): void {
    this.#stmt.finishCommand.run({ id, outcome, result: result === undefined ? null : JSON.stringify(result), at });
  }

  recentCommands(gatewayId: string, limit: number): CommandRecord[] {
    return (this.#stmt.commands.all(gatewayId, limit) as CommandRow[]).map(commandRecord);
  }

  /** The gateway's latest commands of one kind (who settled its unknown outcomes, say), newest first. */
  recentCommandsNamed(gatewayId: string, command: string, limit: number): CommandRecord[] {
    return (this.#stmt.commandsNamed.all(gatewayId, command, limit) as CommandRow[]).map(commandRecord);
  }

  // --- rollouts

  saveRollout(r: { id: string; createdAt: number; status: string; state: unknown }): void {
    this.#stmt.saveRollout.run({ ...r, state: JSON.stringify(r.state) });
  }

  getRollout(id: string): unknown {
    const row = this.#stmt.getRollout.get(id) as { state: string } | undefined;
    return row && (JSON.parse(row.state) as unknown);
  }

  /** Rollouts that were running when the hub stopped, for it to mark as interrupted. */
  runningRollouts(): { id: string; createdAt: number; state: unknown }[] {
    return (this.#stmt.runningRollouts.all() as { id: string; created_at: number; state: string }[]).map((r) => ({ id: r.id, createdAt: r.created_at, state: JSON.parse(r.state) as unknown }));
  }

  // --- housekeeping

  /**
   * One bounded pass: rolls raw telemetry older than `rawMs` up into minute
   * roll-ups (merged with any already there), and deletes roll-ups, events and
   * command log entries older than `retentionMs`.
   */
  housekeep(now: number, rawMs: number, retentionMs: number, maxRows = 5000): HousekeepingResult {
    const s = this.#stmt;
    return this.#db.transaction((): HousekeepingResult => {
      const rows = s.oldRaw.all(now - rawMs, maxRows) as { rid: number; gateway_id: string; ts: number; data: string }[];
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
      const cutoff = now - retentionMs;
      const expired = s.expireMinutes.run(cutoff, maxRows).changes + s.expireEvents.run(cutoff, maxRows).changes + s.expireCommands.run(cutoff, maxRows).changes;
      return { rolledUp: rows.length, expired, more: rows.length === maxRows || expired >= maxRows };
    })();
  }
}
