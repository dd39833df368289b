// The hub's database (better-sqlite3, on the hub's event loop), one SQLite
// file of six table families, each behind its own module in ./store/: the
// gateway registry, telemetry history, events, desired configs, the command
// log and rollout states. Callers take the part they use. What spans families
// is here: an ingest batch written in one transaction (telemetry, each
// gateway's latest state, events, last-seen times; one per flush, however many
// gateways sent something), and housekeeping's bounded passes.
import type Database from 'better-sqlite3';
import type { TelemetrySample } from './downsample.js';
import { CommandLog } from './store/command-log.js';
import { HubStoreError, openHubDatabase } from './store/database.js';
import { DesiredConfigs } from './store/desired-configs.js';
import { EventLog, type NewEvent } from './store/events.js';
import { GatewayRegistry } from './store/registry.js';
import { RolloutStates } from './store/rollout-states.js';
import { TelemetryHistory } from './store/telemetry.js';

export interface IngestBatch {
  telemetry: { gatewayId: string; sample: TelemetrySample }[];
  events: NewEvent[];
  /** Gateway id -> when it was last heard from. */
  seen: Map<string, number>;
}

export interface HousekeepingResult {
  rolledUp: number;
  expired: number;
  /** More work was left for another pass (each pass is bounded so the event loop keeps turning). */
  more: boolean;
}

export class HubStore {
  readonly #db: Database.Database;
  readonly gateways: GatewayRegistry;
  readonly telemetry: TelemetryHistory;
  readonly events: EventLog;
  readonly desired: DesiredConfigs;
  readonly commands: CommandLog;
  readonly rollouts: RolloutStates;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.gateways = new GatewayRegistry(db);
    this.telemetry = new TelemetryHistory(db);
    this.events = new EventLog(db);
    this.desired = new DesiredConfigs(db);
    this.commands = new CommandLog(db);
    this.rollouts = new RolloutStates(db);
  }

  /** Opens (or creates) the hub database. Throws HubStoreError for a foreign, newer, damaged or unreadable file. */
  static open(file: string): HubStore {
    const db = openHubDatabase(file);
    try {
      return new HubStore(db);
    } catch (e) {
      db.close();
      throw new HubStoreError(file, `cannot prepare the hub database (${(e as Error).message})`);
    }
  }

  close(): void {
    this.#db.close();
  }

  /** Writes a batch in one transaction: telemetry rows, each gateway's latest state, events, last-seen times. */
  writeBatch(batch: IngestBatch): void {
    this.#db.transaction(() => {
      for (const { gatewayId, sample } of batch.telemetry) {
        const data = JSON.stringify(sample);
        this.telemetry.insert(gatewayId, sample, data);
        // A spooled message is older than what the gateway reported since: it goes to history, not to the latest state.
        this.gateways.telemetry(gatewayId, sample, data);
      }
      for (const e of batch.events) this.events.insert(e);
      for (const [id, at] of batch.seen) this.gateways.seen(id, at);
    })();
  }

  /**
   * One bounded pass: rolls raw telemetry older than `rawMs` up into minute
   * roll-ups, and deletes roll-ups, events and command log entries older
   * than `retentionMs`.
   */
  housekeep(now: number, rawMs: number, retentionMs: number, maxRows = 5000): HousekeepingResult {
    return this.#db.transaction((): HousekeepingResult => {
      const rolledUp = this.telemetry.rollUpOlderThan(now - rawMs, maxRows);
      const cutoff = now - retentionMs;
      const expired = this.telemetry.expire(cutoff, maxRows) + this.events.expire(cutoff, maxRows) + this.commands.expire(cutoff, maxRows);
      return { rolledUp, expired, more: rolledUp === maxRows || expired >= maxRows };
    })();
  }
}
