// Several hub replicas on one PostgreSQL database. Each replica has a random
// id, a heartbeat row, and presence rows for the gateways whose websockets it
// holds. A command for a gateway held elsewhere is written as a relay row for
// the holder and NOTIFYed on its channel; the holder sends it over its
// websocket with the same id (the gateway answers a repeated id from memory)
// and sends the outcome back the same way (the asker's side, with its
// timeout, is routed-commands.ts). A desired config set through a replica
// that does not hold the gateway is pushed by the one that does (it reads the
// config from the database, as at a hello).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { message, type CommandMessage } from '../protocol.js';
import type { CommandOutcome, Who } from './commands.js';
import { parseRelayMessage, type RelayMessage } from './relay-messages.js';
import { RoutedCommands } from './routed-commands.js';
import type { Presence } from './store/presence.js';

/** A replica whose heartbeat is older than this many intervals is taken for dead. */
export const LAPSED_HEARTBEATS = 3;
/** A replica silent this long is forgotten (its rows deleted); relay rows nobody took this long are deleted. */
const FORGET_AFTER_MS = 3_600_000;

export interface ReplicaStore {
  /** The replicas' rows and who holds what, for rollouts and drain budgets: the store's connection. */
  presence: Presence;
  /**
   * Which live replica holds a gateway, like the relay below on the connection that routes
   * commands (HubStore.routing): a routed command does not wait behind the store's writes.
   */
  holder(gatewayId: string, freshSince: number): Promise<string | undefined>;
  /** Writes a relay row for `to` and notifies it (store/relay.ts); its number. */
  relay(to: string, body: string, now: number): Promise<number>;
  /** Deletes the row and returns its message; undefined when someone took it first. */
  take(to: string, seq: number): Promise<string | undefined>;
  waiting(to: string): Promise<number[]>;
  expireRelay(cutoff: number): Promise<number>;
}

export interface ReplicaDeps {
  store: ReplicaStore;
  /** Sends a command over this replica's websocket (Commands.deliver). */
  deliver(gatewayId: string, msg: CommandMessage, timeoutMs: number): Promise<CommandOutcome>;
  /** Brings a gateway held here to its desired config (DesiredState.changed). */
  desiredChanged(gatewayId: string, who: Who): void;
  /**
   * Writes this replica's heartbeat row on a connection apart from the store's
   * (the LISTEN session): behind the store's queue a heartbeat could land a
   * minute late and the others take a busy replica for dead.
   */
  beat(replica: string, now: number): Promise<void>;
  logger: Logger;
  heartbeatMs: number;
}

/** 16 hex digits: unique enough among a handful of pods, and a plain identifier for LISTEN. */
export const newReplicaId = () => randomBytes(8).toString('hex');

export class Replica {
  readonly id: string;
  readonly #store: ReplicaStore;
  readonly #deliver: ReplicaDeps['deliver'];
  readonly #desiredChanged: ReplicaDeps['desiredChanged'];
  readonly #beatOn: ReplicaDeps['beat'];
  readonly #logger: Logger;
  readonly #heartbeatMs: number;
  /** Commands this replica asked of others, waiting for their outcome. */
  readonly #commands: RoutedCommands;
  #timer: NodeJS.Timeout | undefined;

  constructor(id: string, deps: ReplicaDeps) {
    this.id = id;
    this.#store = deps.store;
    this.#deliver = deps.deliver;
    this.#desiredChanged = deps.desiredChanged;
    this.#beatOn = deps.beat;
    this.#logger = deps.logger.child({ replica: id });
    this.#heartbeatMs = deps.heartbeatMs;
    this.#commands = new RoutedCommands({
      replicaId: id,
      holder: (gatewayId) => this.#store.holder(gatewayId, this.#freshSince(Date.now())),
      relay: (to, body, now) => this.#store.relay(to, body, now),
      take: (to, seq) => this.#store.take(to, seq),
      deliver: deps.deliver,
      logger: this.#logger,
    });
  }

  /** Heartbeats from now on; the first is written before this resolves. */
  async start(): Promise<void> {
    await this.#store.presence.heartbeat(this.id, Date.now());
    this.#timer = setInterval(() => void this.#beat(), this.#heartbeatMs);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    const now = Date.now();
    try {
      await this.#beatOn(this.id, now);
    } catch (e) {
      this.#logger.error({ err: e }, 'cannot write the replica heartbeat; other replicas take this one for dead once it lapses');
      return;
    }
    try {
      for (const dead of await this.#store.presence.lapsedBefore(now - FORGET_AFTER_MS)) await this.#store.presence.forget(dead);
      await this.#store.expireRelay(now - FORGET_AFTER_MS);
    } catch (e) {
      this.#logger.error({ err: e }, 'cannot forget replicas long dead or expire old relay rows; tried again at the next heartbeat');
    }
  }

  /** Replicas whose heartbeat is at this time or later are alive. */
  #freshSince(now: number): number {
    return now - LAPSED_HEARTBEATS * this.#heartbeatMs;
  }

  /** The gateways a live replica holds (this one's included, as far as its rows are written). */
  online(): Promise<Set<string>> {
    return this.#store.presence.online(this.#freshSince(Date.now()));
  }

  /** Per region, the gateways the other live replicas hold. */
  heldElsewhereByRegion(): Promise<Map<string, number>> {
    return this.#store.presence.heldElsewhereByRegion(this.id, this.#freshSince(Date.now()));
  }

  /** Whether the replica `id` is alive (its heartbeat has not lapsed). */
  isLive(id: string): Promise<boolean> {
    return this.#store.presence.isLive(id, this.#freshSince(Date.now()));
  }

  /** Commands.send's route: the command to the replica holding the gateway. Never rejects. */
  readonly route = (gatewayId: string, msg: CommandMessage, timeoutMs: number): Promise<CommandOutcome> => this.#commands.route(gatewayId, msg, timeoutMs);

  /** The gateway's desired config changed here but its websocket is elsewhere: the holder pushes it. Never rejects. */
  async desiredElsewhere(gatewayId: string, who: Who): Promise<void> {
    try {
      const holder = await this.#store.holder(gatewayId, this.#freshSince(Date.now()));
      if (holder === undefined || holder === this.id) return;
      await this.#store.relay(holder, JSON.stringify({ kind: 'desired', gatewayId, who: { name: who.name, role: who.role } }), Date.now());
    } catch (e) {
      this.#logger.error({ gateway: gatewayId, err: e }, 'cannot tell the replica holding the gateway of its new desired config; it gets it at its next hello');
    }
  }

  /** A relay row for this replica was notified (or found waiting): taken, and handled once. */
  async received(seq: number): Promise<void> {
    // Anything else on the channel (a NOTIFY by hand) is not a row number.
    if (!Number.isSafeInteger(seq)) return this.#logger.warn({ seq }, 'a notification on this replica\'s channel that names no message; ignored');
    let body: string | undefined;
    try {
      body = await this.#store.take(this.id, seq);
    } catch (e) {
      this.#logger.error({ seq, err: e }, 'cannot read a message from another replica');
      return;
    }
    if (body === undefined) return;
    const msg = parseRelayMessage(body);
    if (!msg) return this.#logger.warn({ seq }, 'a message from another replica that is none this replica understands; dropped');
    await this.#handle(msg);
  }

  /** After (re)connecting the LISTEN connection: what was written while nobody listened. */
  async listening(): Promise<void> {
    try {
      for (const seq of await this.#store.waiting(this.id)) await this.received(seq);
    } catch (e) {
      this.#logger.error({ err: e }, 'cannot read the messages other replicas left for this one');
    }
  }

  async #handle(msg: RelayMessage): Promise<void> {
    if (msg.kind === 'outcome') {
      if (!this.#commands.settle(msg.id, msg.outcome)) this.#logger.debug({ id: msg.id }, 'an outcome from another replica nothing waits for (late)');
      return;
    }
    if (msg.kind === 'desired') return this.#desiredChanged(msg.gatewayId, msg.who);
    if (Date.now() > msg.deadline) return this.#logger.warn({ gateway: msg.gatewayId, id: msg.id, from: msg.replyTo }, 'a routed command arrived after its asker gave up; not sent');
    const command = message<CommandMessage>({ type: 'command', command: msg.command, args: msg.args }, msg.id);
    const outcome = await this.#deliver(msg.gatewayId, command, msg.timeoutMs);
    try {
      await this.#store.relay(msg.replyTo, JSON.stringify({ kind: 'outcome', id: msg.id, outcome }), Date.now());
    } catch (e) {
      this.#logger.error({ gateway: msg.gatewayId, id: msg.id, to: msg.replyTo, err: e }, 'cannot send a routed command\'s outcome back; its asker times out');
    }
  }

  /** Stops the heartbeat; what waits on other replicas ends now; this replica's rows go (its gateways reconnect elsewhere). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#commands.closeAll();
    try {
      await this.#store.presence.forget(this.id);
    } catch (e) {
      this.#logger.error({ err: e }, 'cannot remove this replica\'s rows; others ignore them once its heartbeat lapses');
    }
  }
}
