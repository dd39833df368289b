// Commands to gateways: sent as the protocol's `command` message, answered by
// the gateway's `result` (or `error`) with the same `re`, or given up after a
// timeout. Every command is written to the command log with who sent it, also
// when it could not be sent. A gateway connected to another hub replica is
// reached through `route` (replicas.ts), which that replica answers through
// `deliver`: the log is written once, by the replica that was asked.
import type { Logger } from 'pino';
import { message, type CommandMessage, type CommandName, type ErrorMessage, type ResultMessage } from '../protocol.js';
import type { Connections, GatewayConnection } from './connections.js';
import type { CommandLog } from './store/command-log.js';

export interface Who {
  name: string;
  /** operator / viewer for ops tokens; 'rollout' or 'hub' for what the hub does by itself. */
  role: string;
}

export type CommandOutcome =
  | { status: 'answered'; id: string; ok: boolean; result?: unknown; error?: { code: string; message: string } }
  | { status: 'offline' }
  /** Not sent; `id` names the command's log entry when it has one. */
  | { status: 'busy'; reason: string; id?: string }
  | { status: 'timeout'; id: string }
  | { status: 'disconnected'; id: string };

interface Pending {
  timer: NodeJS.Timeout;
  resolve: (o: CommandOutcome) => void;
}

/** Command log entries keep results up to this size; a queue.list of 1000 entries is summarised. */
const MAX_LOGGED_RESULT = 16 * 1024;

function loggedResult(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text !== undefined && text.length > MAX_LOGGED_RESULT ? { truncated: true, bytes: text.length } : value;
}

/** What the log keeps of a command's args: a config is logged by its size, not its text. */
function loggedArgs(command: CommandName, args: Record<string, unknown>, version?: string): unknown {
  if (command !== 'config.apply') return args;
  const { yaml, ...rest } = args;
  return { ...rest, ...(version !== undefined && { version }), bytes: typeof yaml === 'string' ? Buffer.byteLength(yaml) : 0 };
}

/** Sends a command to a gateway this replica does not hold; `offline` when no live replica holds it. */
export type RouteCommand = (gatewayId: string, msg: CommandMessage, timeoutMs: number) => Promise<CommandOutcome>;

export class Commands {
  readonly #connections: Connections;
  readonly #log: CommandLog;
  readonly #logger: Logger;
  readonly #maxInFlight: number;
  readonly #route: RouteCommand | undefined;
  readonly #pending = new Map<GatewayConnection, Map<string, Pending>>();

  constructor(deps: { connections: Connections; log: CommandLog; logger: Logger; maxInFlightPerGateway: number; route?: RouteCommand }) {
    this.#connections = deps.connections;
    this.#log = deps.log;
    this.#logger = deps.logger;
    this.#maxInFlight = deps.maxInFlightPerGateway;
    this.#route = deps.route;
  }

  /** Sends a command (args already checked) and resolves with the gateway's answer or why there is none. */
  send(gatewayId: string, command: CommandName, args: Record<string, unknown>, who: Who, timeoutMs: number, configVersion?: string): Promise<CommandOutcome> {
    const msg = message<CommandMessage>({ type: 'command', command, args });
    const now = Date.now();
    // Not waited for: the log keeps its entries in the order asked (an entry before its outcome),
    // and the caller gets its outcome even when the log cannot be written (a full disk, a lost database).
    const logged = (what: Promise<void>) =>
      void what.catch((e: unknown) => this.#logger.error({ gateway: gatewayId, id: msg.id, err: e }, 'cannot write the command log'));
    logged(this.#log.log({ id: msg.id, gatewayId, command, args: loggedArgs(command, args, configVersion), who: who.name, role: who.role, sentAt: now }));
    const finish = (outcome: CommandOutcome): CommandOutcome => {
      const result = outcome.status === 'answered' ? loggedResult(outcome.ok ? outcome.result : outcome.error) : outcome.status === 'busy' ? outcome.reason : undefined;
      const label = outcome.status === 'answered' ? (outcome.ok ? 'ok' : 'failed') : outcome.status;
      logged(this.#log.finish(msg.id, label, result, Date.now()));
      return outcome;
    };

    if (this.#connections.get(gatewayId) === undefined && this.#route) return this.#route(gatewayId, msg, timeoutMs).then(finish);
    return this.deliver(gatewayId, msg, timeoutMs).then(finish);
  }

  /** Sends `msg` over this replica's websocket to the gateway, without a log entry (the caller has its own). */
  deliver(gatewayId: string, msg: CommandMessage, timeoutMs: number): Promise<CommandOutcome> {
    const conn = this.#connections.get(gatewayId);
    if (!conn) return Promise.resolve({ status: 'offline' });
    let pending = this.#pending.get(conn);
    if (!pending) this.#pending.set(conn, (pending = new Map()));
    if (pending.size >= this.#maxInFlight) return Promise.resolve({ status: 'busy', id: msg.id, reason: `${pending.size} commands already wait for this gateway` });
    // The same id twice (another replica's message handled again) is one command, sent once.
    if (pending.has(msg.id)) return Promise.resolve({ status: 'busy', id: msg.id, reason: `command ${msg.id} is already waiting for this gateway` });
    if (!conn.send(msg)) return Promise.resolve({ status: 'busy', id: msg.id, reason: 'the gateway is not reading what it was sent' });

    const waiting = pending;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(msg.id);
        this.#logger.warn({ gateway: gatewayId, command: msg.command, id: msg.id, timeoutMs }, 'no result from the gateway in time');
        resolve({ status: 'timeout', id: msg.id });
      }, timeoutMs);
      waiting.set(msg.id, { timer, resolve });
    });
  }

  /** A result or error from `conn`; false when it answers nothing that is waiting (late, or unknown). */
  answer(conn: GatewayConnection, msg: ResultMessage | ErrorMessage): boolean {
    const pending = msg.re === undefined ? undefined : this.#pending.get(conn)?.get(msg.re);
    if (!pending || msg.re === undefined) return false;
    clearTimeout(pending.timer);
    this.#pending.get(conn)!.delete(msg.re);
    pending.resolve(
      msg.type === 'result'
        ? { status: 'answered', id: msg.re, ok: msg.ok, ...(msg.result !== undefined && { result: msg.result }), ...(msg.error !== undefined && { error: msg.error }) }
        : { status: 'answered', id: msg.re, ok: false, error: msg.error },
    );
    return true;
  }

  /** The connection is gone: what waited on it will not be answered there. */
  connectionClosed(conn: GatewayConnection): void {
    const pending = this.#pending.get(conn);
    this.#pending.delete(conn);
    for (const [id, p] of pending ?? []) {
      clearTimeout(p.timer);
      p.resolve({ status: 'disconnected', id });
    }
  }
}
