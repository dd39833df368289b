// The asking replica's side of a command for a gateway another hub replica
// holds (replicas.ts): the command is written as a relay row for the holder,
// which sends it over its websocket and sends the outcome back the same way.
// The asker keeps the timeout, so a holder that dies never costs a hang. A
// replica killed without a word still counts as live until its heartbeat
// lapses (45 s by default), while its gateways reconnect to others within
// seconds: a row its holder has not taken within a moment is taken back (the
// same DELETE the holder would run, so one of the two has it: taken back, it
// was never sent), and the command goes to wherever the gateway is connected
// by then. What is still unsent at the timeout is answered as not sent.
import type { Logger } from 'pino';
import type { CommandMessage } from '../protocol.js';
import type { CommandOutcome } from './commands.js';
import type { RelayedCommand } from './relay-messages.js';

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

export interface RoutedCommandsDeps {
  /** This replica's id: the relayed command's reply address. */
  replicaId: string;
  /** Which live replica holds the gateway. */
  holder(gatewayId: string): Promise<string | undefined>;
  /** Writes a relay row for `to` and notifies it; its number. */
  relay(to: string, body: string, now: number): Promise<number>;
  /** Deletes the row and returns its message; undefined when someone took it first. */
  take(to: string, seq: number): Promise<string | undefined>;
  /** Sends a command over this replica's own websocket (Commands.deliver). */
  deliver(gatewayId: string, msg: CommandMessage, timeoutMs: number): Promise<CommandOutcome>;
  logger: Logger;
}

export class RoutedCommands {
  readonly #deps: RoutedCommandsDeps;
  /** By id, waiting for their outcome. */
  readonly #routed = new Map<string, Routed>();

  constructor(deps: RoutedCommandsDeps) {
    this.#deps = deps;
  }

  /** The command to the replica holding the gateway, and its outcome. Never rejects. */
  route(gatewayId: string, msg: CommandMessage, timeoutMs: number): Promise<CommandOutcome> {
    // The timeout counts from the ask, the holder's lookup included: the store's queue may be long.
    const deadline = Date.now() + timeoutMs;
    const outcome = new Promise<CommandOutcome>((resolve) => {
      const timer = setTimeout(() => void this.#timedOut(gatewayId, msg, timeoutMs), timeoutMs);
      this.#routed.set(msg.id, { timer, resolve, handed: { stage: 'unsent', why: 'the hub did not find where the gateway is connected in time' } });
    });
    void this.#handOn(gatewayId, msg, timeoutMs, deadline);
    return outcome;
  }

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
        holder = await this.#deps.holder(gatewayId);
      } catch (e) {
        this.#deps.logger.error({ gateway: gatewayId, id: msg.id, err: e }, 'cannot read which replica holds the gateway');
        this.settle(msg.id, { status: 'busy', id: msg.id, reason: 'the hub cannot read where the gateway is connected; try again' });
        return;
      }
      if (!this.#routed.has(msg.id)) return;
      if (holder === undefined) {
        this.settle(msg.id, { status: 'offline' });
        return;
      }
      // From here it may reach the gateway before this replica knows it has.
      routed.handed = { stage: 'sent' };
      if (holder === this.#deps.replicaId) {
        // It reconnected here since it was asked for (or just left: its row goes with it, and it is offline).
        this.settle(msg.id, await this.#deps.deliver(gatewayId, msg, deadline - Date.now()));
        return;
      }
      const relayed: RelayedCommand = { kind: 'command', id: msg.id, gatewayId, command: msg.command, args: msg.args, timeoutMs, deadline, replyTo: this.#deps.replicaId };
      try {
        routed.handed = { stage: 'relayed', holder, seq: await this.#deps.relay(holder, JSON.stringify(relayed), Date.now()) };
      } catch (e) {
        this.#deps.logger.error({ gateway: gatewayId, id: msg.id, holder, err: e }, 'cannot hand the command to the replica holding the gateway');
        this.settle(msg.id, { status: 'busy', id: msg.id, reason: 'the hub cannot reach the replica the gateway is connected to; try again' });
        return;
      }
      // Too late to look again: the timeout takes the row back if it was not taken.
      if (deadline - Date.now() <= takeWithinMs) return;
      await new Promise((r) => setTimeout(r, takeWithinMs));
      if (this.#routed.get(msg.id) !== routed) return;
      if (!(await this.#takeBack(routed))) return;
      this.#deps.logger.warn({ gateway: gatewayId, command: msg.command, id: msg.id, holder, takeWithinMs }, 'the replica holding the gateway did not take a routed command in time; taken back unsent, looking for the gateway again');
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
      if ((await Promise.race([this.#deps.take(h.holder, h.seq), waited])) === undefined) return false;
    } catch (e) {
      this.#deps.logger.error({ seq: h.seq, holder: h.holder, err: e }, 'cannot take back a routed command its holder has not taken');
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
      this.#deps.logger.warn({ gateway: gatewayId, command: msg.command, id: msg.id, timeoutMs, why: h.why }, 'a routed command was not sent in time');
      routed.resolve({ status: 'busy', id: msg.id, reason: `not sent: ${h.why}; try again` });
      return;
    }
    this.#deps.logger.warn({ gateway: gatewayId, command: msg.command, id: msg.id, timeoutMs }, 'no result from the gateway through its replica in time');
    routed.resolve({ status: 'timeout', id: msg.id });
  }

  /** Ends the command `id` with `outcome` (its holder's, sent back); false when nothing waits for it any more (late). */
  settle(id: string, outcome: CommandOutcome): boolean {
    const waiting = this.#routed.get(id);
    if (!waiting) return false;
    clearTimeout(waiting.timer);
    this.#routed.delete(id);
    waiting.resolve(outcome);
    return true;
  }

  /** This replica closes: what waits ends now, as disconnected. */
  closeAll(): void {
    for (const id of [...this.#routed.keys()]) this.settle(id, { status: 'disconnected', id });
  }
}
