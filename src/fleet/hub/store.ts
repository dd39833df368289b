// The hub's database, of eight table families, each behind its own module in
// ./store/: the gateway registry, telemetry history, events, desired configs,
// the command log, rollout states, and for hub replicas their presence and
// the messages they hand each other. Callers take the part they use. Two
// backends behind one async interface (./store/sql/): an SQLite file (the
// embedded default, on the hub's event loop) or PostgreSQL (a central hub that
// outlives its pods). What spans families is here: an ingest batch written in
// one transaction (telemetry, each gateway's latest state, events, last-seen
// times; one per flush, however many gateways sent something), gateways'
// hellos and departures written by group commit (group-commit.ts: the registry
// row and the presence row of every hello that came in while the previous
// write was under way, in one transaction), and housekeeping's bounded passes.
// On PostgreSQL what routes commands between replicas (the holder's presence
// row, relay rows) has a connection of its own: on the store's one connection
// it waited behind every hello and telemetry flush queued there (issue #17).
import type { TelemetrySample } from './downsample.js';
import { GroupCommit } from './group-commit.js';
import { CommandLog } from './store/command-log.js';
import { openSqliteHubDatabase } from './store/database.js';
import { DesiredConfigs } from './store/desired-configs.js';
import { EventLog, type NewEvent } from './store/events.js';
import { openPostgresHubDatabase, openPostgresRoutingDatabase, type PostgresStore } from './store/postgres.js';
import { Presence } from './store/presence.js';
import { GatewayRegistry, type HelloRecord } from './store/registry.js';
import { RelayMailbox } from './store/relay.js';
import { RolloutStates } from './store/rollout-states.js';
import type { Sql, SqlDatabase } from './store/sql/database.js';
import { rounds } from './store/sql/values.js';
import { TelemetryHistory } from './store/telemetry.js';

export interface IngestBatch {
  /** msgId: the gateway's message id, which makes a resend of a stored message a no-op. */
  telemetry: { gatewayId: string; sample: TelemetrySample; msgId?: string }[];
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

/**
 * A gateway said hello, or its live connection closed. `holder`: this replica's id, when the
 * change moves the gateway's presence row (a connection's first hello, its close; replicas only).
 */
export type SessionChange =
  | { kind: 'hello'; hello: HelloRecord; now: number; holder: string | undefined }
  | { kind: 'left'; gatewayId: string; now: number; holder: string | undefined };

/** Session changes per transaction: about one multi-row statement per table. */
const SESSIONS_PER_WRITE = 500;

const gatewayOf = (c: SessionChange) => (c.kind === 'hello' ? c.hello.id : c.gatewayId);

/** Where the hub keeps its data. */
export type HubDatabase = { sqlite: { path: string } } | { postgres: PostgresStore };

/** The table modules over one connection or transaction. */
class Tables {
  readonly gateways: GatewayRegistry;
  readonly telemetry: TelemetryHistory;
  readonly events: EventLog;
  readonly desired: DesiredConfigs;
  readonly commands: CommandLog;
  readonly rollouts: RolloutStates;
  readonly presence: Presence;
  readonly relay: RelayMailbox;

  constructor(sql: Sql) {
    this.gateways = new GatewayRegistry(sql);
    this.telemetry = new TelemetryHistory(sql);
    this.events = new EventLog(sql);
    this.desired = new DesiredConfigs(sql);
    this.commands = new CommandLog(sql);
    this.rollouts = new RolloutStates(sql);
    this.presence = new Presence(sql);
    this.relay = new RelayMailbox(sql);
  }
}

export class HubStore extends Tables {
  readonly #db: SqlDatabase;
  readonly #routingDb: SqlDatabase;
  /**
   * What a routed command reads and writes (its holder's presence row, relay rows), on a
   * connection of its own on PostgreSQL; on SQLite the store's.
   */
  readonly routing: { holder: Presence['holder']; relay: RelayMailbox };
  readonly #sessions = new GroupCommit<SessionChange>((changes) => this.#writeSessions(changes), SESSIONS_PER_WRITE);

  private constructor(db: SqlDatabase, routingDb: SqlDatabase) {
    super(db);
    this.#db = db;
    this.#routingDb = routingDb;
    const presence = new Presence(routingDb);
    this.routing = { holder: (gatewayId, freshSince) => presence.holder(gatewayId, freshSince), relay: new RelayMailbox(routingDb) };
  }

  /**
   * Opens (or creates) the hub database and brings it to the current schema.
   * Throws HubStoreError for a foreign, newer, damaged or unreachable one.
   * `onError`: PostgreSQL dropped an idle connection (the next query opens another).
   */
  static async open(where: HubDatabase, onError: (e: Error) => void = () => undefined): Promise<HubStore> {
    if ('sqlite' in where) {
      // One replica, on the hub's event loop: nothing to route, and no network round trip to wait behind.
      const db = openSqliteHubDatabase(where.sqlite.path);
      return new HubStore(db, db);
    }
    const db = await openPostgresHubDatabase(where.postgres, onError);
    return new HubStore(db, openPostgresRoutingDatabase(where.postgres, onError));
  }

  /** Resolves when the database answers: what the hub's readiness reflects. */
  ping(): Promise<void> {
    return this.#db.ping();
  }

  /** Closes once the session changes asked for are written (failed or not). */
  async close(): Promise<void> {
    await this.#sessions.settle();
    if (this.#routingDb !== this.#db) await this.#routingDb.close();
    await this.#db.close();
  }

  /** A gateway said hello. Resolves once its rows are written, with those of the hellos around it. */
  hello(hello: HelloRecord, now: number, holder: string | undefined): Promise<void> {
    return this.#sessions.add({ kind: 'hello', hello, now, holder });
  }

  /** A gateway's live connection closed. Written after its hello, with the changes around it. */
  left(gatewayId: string, now: number, holder: string | undefined): Promise<void> {
    return this.#sessions.add({ kind: 'left', gatewayId, now, holder });
  }

  /** Session changes in one transaction, in rounds: a gateway's changes in the order they came. */
  #writeSessions(changes: readonly SessionChange[]): Promise<void> {
    return this.#db.transaction(async (tx) => {
      const t = new Tables(tx);
      for (const round of rounds(changes, gatewayOf)) {
        const hellos = round.filter((c) => c.kind === 'hello');
        const left = round.filter((c) => c.kind === 'left');
        await t.gateways.hello(hellos);
        await t.presence.hold(hellos.flatMap((c) => (c.holder === undefined ? [] : [{ gatewayId: c.hello.id, replica: c.holder, since: c.now }])));
        await t.gateways.setOffline(left.map((c) => ({ id: c.gatewayId, now: c.now })));
        await t.presence.release(left.flatMap((c) => (c.holder === undefined ? [] : [{ gatewayId: c.gatewayId, replica: c.holder }])));
      }
    });
  }

  /** Writes a batch in one transaction: telemetry rows, each gateway's latest state, events, last-seen times. */
  writeBatch(batch: IngestBatch): Promise<void> {
    // The hellos heard so far go first: a new gateway's row is there for its latest state.
    this.#sessions.flush();
    return this.#db.transaction(async (tx) => {
      const t = new Tables(tx);
      const samples = batch.telemetry.map(({ gatewayId, sample, msgId }) => ({ id: gatewayId, msgId, sample, data: JSON.stringify(sample) }));
      await t.telemetry.insert(samples);
      // A spooled message is older than what the gateway reported since: it goes to history, not to the latest state.
      await t.gateways.telemetry(samples);
      for (const e of batch.events) await t.events.insert(e);
      await t.gateways.seen(batch.seen);
    });
  }

  /**
   * One bounded pass: rolls raw telemetry older than `rawMs` up into minute
   * roll-ups, and deletes roll-ups, events and command log entries older
   * than `retentionMs`.
   */
  housekeep(now: number, rawMs: number, retentionMs: number, maxRows = 5000): Promise<HousekeepingResult> {
    return this.#db.transaction(async (tx): Promise<HousekeepingResult> => {
      const t = new Tables(tx);
      const rolledUp = await t.telemetry.rollUpOlderThan(now - rawMs, maxRows);
      const cutoff = now - retentionMs;
      const expired = (await t.telemetry.expire(cutoff, maxRows)) + (await t.events.expire(cutoff, maxRows)) + (await t.commands.expire(cutoff, maxRows));
      return { rolledUp, expired, more: rolledUp === maxRows || expired >= maxRows };
    });
  }
}
