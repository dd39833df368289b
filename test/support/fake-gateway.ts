// Gateway stand-ins. FakeGateway speaks the fleet protocol to a hub: hello,
// telemetry and events on demand, commands answered by a handler; light
// enough for a load tool to open thousands (keepMessages: false); it keeps a
// list of entries in the unknown state, which queue.list and queue.settle use.
// FakeAgentHost is the gateway as the fleet agent sees it (AgentHost): an
// in-memory journal, for agent behaviour the real gateway cannot be made to
// show on demand (a write whose outcome is unknown).
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import type { LoadedConfig } from '../../edge-config/load.js';
import type { ClassName } from '../../edge-config/schema.js';
import type { EntryState, EntryView } from '../../sync/journal-store.js';
import type { AgentHost, AgentStatus, DeadLetter, ExpiredEntries, ExpiryWarningChange } from '../../src/fleet/agent/host.js';
import type { PathStateChange } from '../../src/link/monitor.js';
import {
  FEATURES_HEADER,
  message,
  parseHubMessage,
  type CommandMessage,
  type EventMessage,
  type EventName,
  type GatewayMessage,
  type HelloMessage,
  type HubMessage,
  type PathTelemetry,
  type QueueTelemetry,
  type ResultMessage,
  type TelemetryMessage,
  type UnknownOutcome,
} from '../../src/fleet/protocol.js';

export type CommandAnswer = { ok: true; result?: unknown } | { ok: false; error: { code: string; message: string } };

export interface FakeGatewayOptions {
  /** ws://host:port/v1/gateways/connect */
  url: string;
  token: string;
  id: string;
  region?: string;
  tags?: string[];
  version?: string;
  configVersion?: string;
  paths?: PathTelemetry[];
  /** Answers a command; undefined leaves it unanswered. Default: defaultAnswer. */
  onCommand?: (cmd: CommandMessage, gw: FakeGateway) => CommandAnswer | undefined | Promise<CommandAnswer | undefined>;
  /** False: pings go unanswered, as from a gateway that hangs. */
  autoPong?: boolean;
  /** False: received messages are not kept (a load tool's thousands of gateways). */
  keepMessages?: boolean;
  /** False: no hello is sent on connect. */
  hello?: boolean;
  /** The features header's value on the upgrade (protocol.ts FEATURES_HEADER): 'acks' as the agent asks. None: a gateway older than features. */
  features?: string;
}

const sha12 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

export const UP_PATHS: PathTelemetry[] = [
  { name: 'fiber', state: 'up', score: 98, rttMs: 12, jitterMs: 1, lossPct: 0 },
  { name: 'lte', state: 'up', score: 80, rttMs: 45, jitterMs: 6, lossPct: 0.5 },
];

/** Answers every command ok; config.apply adopts the config (new version) and reports it in telemetry at once. */
export function defaultAnswer(cmd: CommandMessage, gw: FakeGateway): CommandAnswer {
  if (cmd.command === 'config.apply') {
    gw.configVersion = sha12(String(cmd.args.yaml));
    setImmediate(() => gw.telemetry());
    return { ok: true, result: { configVersion: gw.configVersion } };
  }
  if (cmd.command === 'status') return { ok: true, result: { store: { id: gw.id }, configVersion: gw.configVersion, paths: gw.paths, queue: gw.queue } };
  if (cmd.command === 'queue.list' && cmd.args.state === 'unknown') return { ok: true, result: { state: 'unknown', entries: [...gw.unknown.values()] } };
  if (cmd.command === 'queue.settle') return { ok: true, result: { results: gw.settle(cmd.args as { receipts: string[]; as: 'retry' | 'delivered'; by: string }) } };
  return { ok: true, result: { command: cmd.command } };
}

/** A journal entry in the unknown state, as the journal lists it. */
function unknownEntry(seq: number, outcome: UnknownOutcome, now: number): EntryView {
  return {
    seq,
    receipt: outcome.receipt,
    idemKey: outcome.receipt,
    route: outcome.route,
    cls: outcome.cls as ClassName,
    orderingKey: null,
    state: 'unknown',
    attempts: outcome.attempts,
    createdAt: now,
    updatedAt: now,
    nextAttemptAt: now,
    lastError: outcome.reason,
    upstreamStatus: null,
    settledBy: null,
    settledAt: null,
  };
}

export class FakeGateway {
  readonly id: string;
  readonly received: HubMessage[] = [];
  configVersion: string;
  paths: PathTelemetry[];
  queue: QueueTelemetry = { pending: 0, dead: 0, oldestAgeS: 0 };
  /** Entries in the unknown state, as queue.list shows them, by receipt. */
  readonly unknown = new Map<string, EntryView>();
  /** What queue.settle settled, in order. */
  readonly settled: { receipt: string; as: 'retry' | 'delivered'; by: string }[] = [];
  /** The features the hub named in its answer to the upgrade. */
  hubFeatures: string | string[] | undefined;
  /** Resolves when the connection closes, with the hub's close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #ws: WebSocket;
  readonly #opts: FakeGatewayOptions;
  readonly #waiters: { test: (m: HubMessage) => boolean; resolve: (m: HubMessage) => void }[] = [];

  private constructor(ws: WebSocket, opts: FakeGatewayOptions) {
    this.#ws = ws;
    this.#opts = opts;
    this.id = opts.id;
    this.configVersion = opts.configVersion ?? 'initial0000';
    this.paths = structuredClone(opts.paths ?? UP_PATHS);
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => this.#onMessage(data as Buffer));
    ws.on('error', () => undefined);
  }

  /** Opens the websocket and says hello. Rejects with `status` when the hub refuses the upgrade. */
  static connect(opts: FakeGatewayOptions): Promise<FakeGateway> {
    const ws = new WebSocket(opts.url, { headers: { authorization: `Bearer ${opts.token}`, ...(opts.features !== undefined && { [FEATURES_HEADER]: opts.features }) }, autoPong: opts.autoPong ?? true });
    const gw = new FakeGateway(ws, opts);
    ws.once('upgrade', (res) => (gw.hubFeatures = res.headers[FEATURES_HEADER]));
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(Object.assign(new Error(`hub refused the upgrade: ${res.statusCode}`), { status: res.statusCode }));
      });
      ws.once('error', reject);
      ws.once('open', () => {
        if (opts.hello ?? true) gw.hello();
        resolve(gw);
      });
    });
  }

  /** The HTTP status with which the hub refuses a connection with these options (throws if it accepts). */
  static async refusal(opts: FakeGatewayOptions): Promise<number> {
    try {
      const gw = await FakeGateway.connect({ ...opts, hello: false });
      gw.terminate();
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status !== undefined) return status;
      throw e;
    }
    throw new Error('the hub accepted the connection');
  }

  hello(): HelloMessage {
    return this.send(
      message<HelloMessage>({
        type: 'hello',
        store: { id: this.id, region: this.#opts.region ?? 'test', tags: this.#opts.tags ?? [] },
        version: this.#opts.version ?? '0.1.0',
        configVersion: this.configVersion,
        paths: this.paths,
      }),
    );
  }

  telemetry(over: Partial<TelemetryMessage> = {}): TelemetryMessage {
    return this.send(message<TelemetryMessage>({ type: 'telemetry', configVersion: this.configVersion, paths: this.paths, queue: this.queue, requests: {}, ...over }));
  }

  event(event: EventName, details: Record<string, unknown> = {}): EventMessage {
    return this.send(message<EventMessage>({ type: 'event', event, details }));
  }

  /** A write whose outcome is unknown: listed from now on, counted in the queue, and reported as the gateway reports it. */
  unknownOutcome(outcome: UnknownOutcome, now = Date.now()): EventMessage {
    this.unknown.set(outcome.receipt, unknownEntry(this.unknown.size + 1, outcome, now));
    this.queue = { ...this.queue, unknown: this.unknown.size };
    return this.event('unknown_outcome', { ...outcome });
  }

  /** queue.settle as the agent answers it: each receipt settled, or why not. */
  settle(args: { receipts: string[]; as: 'retry' | 'delivered'; by: string }): { receipt: string; ok: boolean; state?: string; error?: string }[] {
    return args.receipts.map((receipt) => {
      if (!this.unknown.delete(receipt)) return { receipt, ok: false, error: 'unknown_receipt' };
      this.settled.push({ receipt, as: args.as, by: args.by });
      this.queue = { ...this.queue, unknown: this.unknown.size };
      return { receipt, ok: true, state: args.as === 'retry' ? 'pending' : 'delivered' };
    });
  }

    send<M extends GatewayMessage>(msg: M): M {
    this.#ws.send(JSON.stringify(msg));
    return msg;
  }

  sendRaw(frame: string | Buffer, binary = false): void {
    this.#ws.send(frame, { binary });
  }

  /** The first message (already received or still to come) that passes `test`. */
  waitFor(test: (m: HubMessage) => boolean, timeoutMs = 5000): Promise<HubMessage> {
    const hit = this.received.find(test);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.id}: no such message within ${timeoutMs} ms; received ${JSON.stringify(this.received.map((m) => m.type))}`)), timeoutMs);
      this.#waiters.push({ test, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  close(): Promise<{ code: number; reason: string }> {
    this.#ws.close(1000, 'bye');
    return this.closed;
  }

  terminate(): void {
    this.#ws.terminate();
  }

  #onMessage(data: Buffer): void {
    const parsed = parseHubMessage(data);
    if (!parsed.ok) return;
    const msg = parsed.message;
    if (this.#opts.keepMessages ?? true) this.received.push(msg);
    for (const w of [...this.#waiters]) {
      if (w.test(msg)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    }
    if (msg.type === 'command') void this.#answer(msg);
  }

  async #answer(cmd: CommandMessage): Promise<void> {
    const answer = await (this.#opts.onCommand ?? defaultAnswer)(cmd, this);
    if (answer === undefined || this.#ws.readyState !== WebSocket.OPEN) return;
    this.send(message<ResultMessage>({ type: 'result', re: cmd.id, ...answer }));
  }
}

/** The gateway as the agent sees it, with its journal in memory. Counts replay wake-ups; keeps the settled entries' who and when. */
export class FakeAgentHost implements AgentHost {
  readonly entries = new Map<string, EntryView>();
  wakes = 0;
  readonly #loaded: LoadedConfig;
  readonly #unknownListeners = new Set<(u: UnknownOutcome) => void>();
  readonly #deadListeners = new Set<(d: DeadLetter) => void>();

  constructor(loaded: LoadedConfig) {
    this.#loaded = loaded;
  }

  config(): LoadedConfig {
    return this.#loaded;
  }

  async status(): Promise<AgentStatus> {
    const count = (state: EntryState) => [...this.entries.values()].filter((e) => e.state === state).length;
    return { configVersion: this.#loaded.version, paths: UP_PATHS, queue: { pending: count('pending'), dead: count('dead'), unknown: count('unknown'), oldestAgeS: 0, bytes: 0, maxBytes: 1_000_000, maxAgeS: 604_800, expiryWarning: null } };
  }

  async requestCounts() {
    return [];
  }

  reload(): { ok: false; error: string } {
    return { ok: false, error: 'the fake host does not reload' };
  }

  restartNeeded(): string[] {
    return [];
  }

  readonly journal: AgentHost['journal'] = {
    list: async (state, limit, afterSeq = 0) => [...this.entries.values()].filter((e) => e.state === state && e.seq > afterSeq).slice(0, limit),
    byReceipt: async (receipt) => this.entries.get(receipt),
    retryDead: async () => false,
    discard: async () => false,
    settle: async (receipt, as, by) => {
      const e = this.entries.get(receipt);
      if (e?.state !== 'unknown') return false;
      this.entries.set(receipt, { ...e, state: as === 'retry' ? 'pending' : 'delivered', settledBy: by, settledAt: Date.now() });
      return true;
    },
  };

  readonly replay: AgentHost['replay'] = {
    pause: () => undefined,
    resume: () => undefined,
    setRate: () => undefined,
    grant: () => undefined,
    wake: () => void this.wakes++,
    status: () => ({ paused: false, ratePerSec: 50, inflight: 0 }),
  };

  onLinkChange(_listener: (change: PathStateChange) => void): () => void {
    return () => undefined;
  }

  onDeadLetter(listener: (dead: DeadLetter) => void): () => void {
    this.#deadListeners.add(listener);
    return () => this.#deadListeners.delete(listener);
  }

  // Expiry is the real gateway's (test/integration/expiry-events.test.ts).
  onExpired(_listener: (expired: ExpiredEntries) => void): () => void {
    return () => undefined;
  }

  onExpiryWarning(_listener: (change: ExpiryWarningChange) => void): () => void {
    return () => undefined;
  }

  /** A write was given up (as replay or a live try gives one up). */
  deadLetter(dead: DeadLetter): void {
    for (const l of this.#deadListeners) l(dead);
  }

  onUnknownOutcome(listener: (unknown: UnknownOutcome) => void): () => void {
    this.#unknownListeners.add(listener);
    return () => this.#unknownListeners.delete(listener);
  }

  /** A write's answer was lost: the entry waits in the unknown state, and the gateway says so. */
  unknownOutcome(outcome: UnknownOutcome): void {
    this.entries.set(outcome.receipt, unknownEntry(this.entries.size + 1, outcome, Date.now()));
    for (const l of this.#unknownListeners) l(outcome);
  }
}
