// Several hub replicas on one PostgreSQL database. Each replica has a random
// id, a heartbeat row, and presence rows for the gateways whose websockets it
// holds. A command for a gateway held elsewhere is written as a relay row for
// the holder and NOTIFYed on its channel; the holder sends it over its
// websocket with the same id (the gateway answers a repeated id from memory)
// and sends the outcome back the same way. The asking replica keeps the
// timeout, so a holder that dies never costs a hang: a row its holder has not
// taken within a moment is taken back (the command was not sent), and the
// command goes to wherever the gateway is connected by then, or is answered as
// not sent; a gateway no live replica holds is `offline` at once, as on one
// replica. A desired config
// set through a replica that does not hold the gateway is pushed by the one
// that does (it reads the config from the database, as at a hello).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { message, type CommandMessage } from '../protocol.js';
import type { CommandOutcome, Who } from './commands.js';
import { parseRelayMessage, type RelayedCommand, type RelayMessage } from './relay-messages.js';
import type { Presence } from './store/presence.js';

/** A replica whose heartbeat is older than this many intervals is taken for dead. */
export const LAPSED_HEARTBEATS = 3;
/** A replica silent this long is forgotten (its rows deleted); relay rows nobody took this long are deleted. */
const FORGET_AFTER_MS = 3_600_000;
/**
 * A live holder takes a routed command's row within milliseconds (routed commands' p99 was
 * 41-105 ms with 10,000 gateways, docs/benchmarks.md); one not taken within this (or a third
 * of the command's timeout, if less) is taken back, and the gateway looked for again.
 */
const TAKE_WITHIN_MS = 2_000;
/** How long a timed-out command waits to take its row back before it is answered as timed out. */
const TAKE_BACK_WAIT_MS = 1_000;

/** Where a routed command stands: it decides what its timeout means. */
type Handed =
  /** Not sent: its holder is being looked up, or took it back from one that did not take it. */
  | { stage: 'unsent'; why: string }
  /** Its row waits for `holder`, who may take it. */
  | { stage: 'relayed'; holder: string; seq: number }
  /** Its row is being written, was taken, or it was sent from here: whether it ran is not known. */
  | { stage: 'sent' };

interface Routed {
  timer: NodeJS.Timeout;
  resolve: (o: CommandOutcome) => void;
  handed: Handed;
}

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
  /** Commands this replica routed elsewhere, by id, waiting for their outcome. */
  readonly #routed = new Map<string, Routed>();
  #timer: NodeJS.Timeout | undefined;

  constructor(id: string, deps: ReplicaDeps) {
    this.id = id;
    this.#store = deps.store;
    this.#deliver = deps.deliver;
    this.#desiredChanged = deps.desiredChanged;
    this.#beatOn = deps.beat;
    this.#logger = deps.logger.child({ replica: id });
    this.#heartbeatMs = deps.heartbeatMs;
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
  readonly route = (gatewayId: string, msg: CommandMessage, timeoutMs: number): Promise<CommandOutcome> => {
    // The timeout counts from the ask, the holder's lookup included: the store's queue may be long.
    const deadline = Date.now() + timeoutMs;
    const outcome = new Promise<CommandOutcome>((resolve) => {
      const timer = setTimeout(() => void this.#timedOut(gatewayId, msg, timeoutMs), timeoutMs);
      this.#routed.set(msg.id, { timer, resolve, handed: { stage: 'unsent', why: 'the hub did not find where the gateway is connected in time' } });
    });
    void this.#handOn(gatewayId, msg, timeoutMs, deadline);
    return outcome;
  };

  /**
   * Hands the command to the gateway's holder, and to its next one if that one does not take
   * it: a replica that died still counts as live until its heartbeat lapses, while its gateways
   * reconnect to others within seconds. Settles the command here when it cannot. Never rejects.
   */
  async #handOn(gatewayId: string, msg: CommandMessage, timeoutMs: number, deadline: number): Promise<void> {
    const takeWithinMs = Math.min(TAKE_WITHIN_MS, timeoutMs / 3);
    for (;;) {
      const routed = this.#routed.get(msg.id);
      // Answered, or timed out (while the holder was looked up, say): nothing to hand on.
      if (!routed) return;
      let holder: string | undefined;
      try {
        holder = await this.#store.holder(gatewayId, this.#freshSince(Date.now()));
      } catch (e) {
        this.#logger.error({ gateway: gatewayId, id: msg.id, err: e }, 'cannot read which replica holds the gateway');
        this.#settle(msg.id, { status: 'busy', id: msg.id, reason: 'the hub cannot read where the gateway is connected; try again' });
        return;
      }
      if (!this.#routed.has(msg.id)) return;
      if (holder === undefined) {
        this.#settle(msg.id, { status: 'offline' });
        return;
      }
      if (holder === this.id) {
        // It reconnected here since it was asked for (or just left: its row goes with it, and it is offline).
        routed.handed = { stage: 'sent' };
        this.#settle(msg.id, await this.#deliver(gatewayId, msg, deadline - Date.now()));
        return;
      }
      routed.handed = { stage: 'sent' };
      const relayed: RelayedCommand = { kind: 'command', id: msg.id, gatewayId, command: msg.command, args: msg.args, timeoutMs, deadline, replyTo: this.id };
      try {
        routed.handed = { stage: 'relayed', holder, seq: await this.#store.relay(holder, JSON.stringify(relayed), Date.now()) };
      } catch (e) {
        this.#logger.error({ gateway: gatewayId, id: msg.id, holder, err: e }, 'cannot hand the command to the replica holding the gateway');
        this.#settle(msg.id, { status: 'busy', id: msg.id, reason: 'the hub cannot reach the replica the gateway is connected to; try again' });
        return;
      }
      // Too late to look again: the timeout takes the row back if it was not taken.
      if (deadline - Date.now() <= takeWithinMs) return;
      await new Promise((r) => setTimeout(r, takeWithinMs));
      if (this.#routed.get(msg.id) !== routed) return;
      if (!(await this.#takeBack(routed))) return;
      this.#logger.warn({ gateway: gatewayId, command: msg.command, id: msg.id, holder, takeWithinMs }, 'the replica holding the gateway did not take a routed command in time; taken back unsent, looking for the gateway again');
    }
  }

  /** The row of a relayed command taken back before its holder took it: true when it was, and the command is unsent again. */
  async #takeBack(routed: Routed): Promise<boolean> {
    const h = routed.handed;
    if (h.stage !== 'relayed') return false;
    routed.handed = { stage: 'sent' };
    let timer: NodeJS.Timeout | undefined;
    try {
      // A routing connection stuck behind a lock must not hold the answer up: not knowing is a timeout.
      const waited = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), TAKE_BACK_WAIT_MS)));
      if ((await Promise.race([this.#store.take(h.holder, h.seq), waited])) === undefined) return false;
    } catch (e) {
      this.#logger.error({ seq: h.seq, holder: h.holder, err: e }, 'cannot take back a routed command its holder has not taken');
      return false;
    } finally {
      clearTimeout(timer);
    }
    routed.handed = { stage: 'unsent', why: 'the replica holding the gateway\'s connection did not take it (it may have died), and the gateway did not reconnect to another in time' };
    return true;
  }

  /** The command's time is up: not sent (its row taken back, if any), or sent with no outcome. */
  async #timedOut(gatewayId: string, msg: CommandMessage, timeoutMs: number): Promise<void> {
    const routed = this.#routed.get(msg.id);
    if (!routed) return;
    await this.#takeBack(routed);
    if (!this.#routed.delete(msg.id)) return;
    const h = routed.handed;
    if (h.stage === 'unsent') {
      this.#logger.warn({ gateway: gatewayId, command: msg.command, id: msg.id, timeoutMs, why: h.why }, 'a routed command was not sent in time');
      routed.resolve({ status: 'busy', id: msg.id, reason: `not sent: ${h.why}; try again` });
      return;
    }
    this.#logger.warn({ gateway: gatewayId, command: msg.command, id: msg.id, timeoutMs }, 'no result from the gateway through its replica in time');
    routed.resolve({ status: 'timeout', id: msg.id });
  }

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

  #settle(id: string, outcome: CommandOutcome): boolean {
    const waiting = this.#routed.get(id);
    if (!waiting) return false;
    clearTimeout(waiting.timer);
    this.#routed.delete(id);
    waiting.resolve(outcome);
    return true;
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
      if (!this.#settle(msg.id, msg.outcome)) this.#logger.debug({ id: msg.id }, 'an outcome from another replica nothing waits for (late)');
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
    for (const id of [...this.#routed.keys()]) this.#settle(id, { status: 'disconnected', id });
    try {
      await this.#store.presence.forget(this.id);
    } catch (e) {
      this.#logger.error({ err: e }, 'cannot remove this replica\'s rows; others ignore them once its heartbeat lapses');
    }
  }
}
