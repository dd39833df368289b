/**
 * An emulated Odoo POS till (16, 17, 18 or 19) that pushes paid orders the way the real
 * browser client does (see push-rules.ts for the rules and their sources), so the gateway
 * is judged by what a real till would end up with: orders deleted, synced, still pending,
 * or reverted to unpaid.
 *
 * Every push goes through one chain (the client's `pushOrderMutex`); every wait is a
 * request or a timer; stop() clears the timer and aborts what is in flight.
 */
import { randomUUID } from 'node:crypto';
import { jsonRpcCall, postJson } from './post-json.js';
import {
  goesOfflineOnConnectionLost,
  hasOfflineMode,
  judgeCall,
  PING_INTERVAL_MS,
  planCalls,
  pushMethod,
  stopsAtFirstFailure,
  type CallVerdict,
  type PosVersion,
  type PushTrigger,
} from './push-rules.js';
import { classifyHttpAnswer, networkFailure, type RpcAnswer } from './rpc-answer.js';

export interface PosTillOptions {
  version: PosVersion;
  /** Read at every request, so a test can move the till between gateway and ERP. */
  baseUrl: () => string;
  /** A label for reports (the gateway identifies devices by headers, e.g. x-device-token). */
  device: string;
  headers?: Record<string, string>;
  sessionId?: number;
  /** Default 60 000: the real client has no timeout, but emulators must end. */
  requestTimeoutMs?: number;
  /** 19's offline ping period; default 2000 ms as in data_service.js. */
  pingIntervalMs?: number;
}

export type TillOrderState = 'pending' | 'synced' | 'deleted' | 'reverted';

export interface TillOrderRecord {
  /** 18/19: the order's uuid; 16/17: its `uid` (what the ERP stores alongside pos_reference). */
  uuid: string;
  posReference: string;
  state: TillOrderState;
  serverId?: number;
  /** How many requests carried this order. */
  pushes: number;
}

/** One request and how the client read its answer, kept for failure messages. */
export interface TillExchange {
  at: string;
  path: string;
  uuids: string[];
  status?: number;
  answer: RpcAnswer['kind'];
  detail: string;
}

interface HeldOrder {
  record: TillOrderRecord;
  /** The order as the version serializes it for the push. */
  payload: Record<string, unknown>;
  /** In the set the next push sends (16/17: the paid-orders db; 18/19: `pendingOrder`). */
  queued: boolean;
}

const KEPT_EXCHANGES = 40;
/** Distinct login numbers keep pos_references unique across tills of one process. */
let nextLoginNumber = 1;

export class PosTill {
  readonly version: PosVersion;
  readonly device: string;
  private readonly baseUrl: () => string;
  private readonly headers: Record<string, string>;
  private readonly sessionId: number;
  private readonly loginNumber = nextLoginNumber++;
  private readonly timeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly orders = new Map<string, HeldOrder>();
  private readonly exchanges: TillExchange[] = [];
  private readonly abort = new AbortController();
  private chain: Promise<unknown> = Promise.resolve();
  private sequence = 0;
  private rpcId = 0;
  private offline = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(opts: PosTillOptions) {
    this.version = opts.version;
    this.device = opts.device;
    this.baseUrl = opts.baseUrl;
    this.headers = { 'user-agent': `storegw-pos-emulator/${opts.version} (${opts.device})`, ...opts.headers };
    this.sessionId = opts.sessionId ?? 1;
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.pingIntervalMs = opts.pingIntervalMs ?? PING_INTERVAL_MS;
  }

  /** The cashier rings up an order, takes payment and presses Validate. */
  payOrder(amount = 10): Promise<TillOrderRecord> {
    const order = this.newOrder(amount);
    this.orders.set(order.record.uuid, order);
    return this.exclusive(async () => {
      await this.push('validate', order.record.uuid);
      return { ...order.record };
    });
  }

  /** The page (re)loads: held orders are sent again (18/19 first re-queue every unsynced paid one). */
  start(): Promise<void> {
    return this.exclusive(async () => {
      for (const order of this.orders.values()) {
        if (order.record.state === 'pending') order.queued = true;
      }
      // 19's data service pings before anything else and stays offline if that fails.
      if (this.version === '19' && !(await this.checkConnectivity())) return;
      await this.push('start');
    });
  }

  /** The browser's `online` event: 18/19 ping, then send (16/17 do not listen). */
  online(): Promise<void> {
    return this.exclusive(async () => {
      if (!hasOfflineMode(this.version)) return;
      if (await this.checkConnectivity()) await this.push(this.version === '19' ? 'ping-answered' : 'online');
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pingTimer);
    this.abort.abort();
    await this.chain.catch(() => undefined);
  }

  records(): TillOrderRecord[] {
    return [...this.orders.values()].map((o) => ({ ...o.record }));
  }

  get isOffline(): boolean {
    return this.offline;
  }

  lastExchanges(): readonly TillExchange[] {
    return this.exchanges;
  }

  /** One line per order and per recent exchange, for assertion messages. */
  describe(): string {
    const orders = this.records().map((r) => `  ${r.posReference} ${r.uuid} ${r.state}${r.serverId ? `#${r.serverId}` : ''} pushes=${r.pushes}`);
    const calls = this.exchanges.map((e) => `  ${e.at} ${e.path} [${e.uuids.length}] ${e.status ?? '-'} ${e.answer} ${e.detail}`);
    return [`till ${this.device} (Odoo ${this.version})${this.offline ? ' offline' : ''}`, ...orders, ...calls].join('\n');
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async push(trigger: PushTrigger, validated?: string): Promise<void> {
    // 18/19 `syncAllOrders` returns at once while the till believes it is offline.
    if (this.stopped || (hasOfflineMode(this.version) && this.offline)) return;
    const queued = [...this.orders.values()].filter((o) => o.queued).map((o) => o.record.uuid);
    for (const uuids of planCalls(this.version, trigger, queued, validated)) {
      if (this.stopped) return;
      const verdict = await this.pushCall(trigger, uuids, validated);
      if (verdict.retryEachAlone) {
        for (const uuid of uuids) await this.pushCall(trigger, [uuid], validated);
      }
      if (verdict.goOffline) this.goOffline();
      if (verdict.failed && stopsAtFirstFailure(this.version, trigger)) return;
    }
  }

  private async pushCall(trigger: PushTrigger, uuids: string[], validated: string | undefined): Promise<CallVerdict> {
    const held = uuids.map((uuid) => this.orders.get(uuid)).filter((o): o is HeldOrder => o !== undefined);
    for (const o of held) o.record.pushes += 1;
    const method = pushMethod(this.version);
    const args = this.version === '16' || this.version === '17' ? [held.map((o) => o.payload), false] : [held.map((o) => o.payload)];
    const answer = await this.call(`/web/dataset/call_kw/pos.order/${method}`, uuids, {
      model: 'pos.order',
      method,
      args,
      kwargs: { context: this.context() },
    });
    const verdict = judgeCall(this.version, { trigger, sent: uuids, validated }, answer);
    for (const { uuid, outcome } of verdict.outcomes) {
      const order = this.orders.get(uuid);
      if (order?.record.state !== 'pending') continue;
      switch (outcome.kind) {
        case 'pending':
          order.queued = outcome.requeue;
          break;
        case 'synced':
          order.record.state = 'synced';
          order.record.serverId = outcome.serverId;
          order.queued = false;
          break;
        case 'deleted':
        case 'reverted':
          order.record.state = outcome.kind;
          order.queued = false;
          break;
      }
    }
    return verdict;
  }

  /** `checkConnectivity`: POST /pos/ping. True when it answered (the till is online again). */
  private async checkConnectivity(): Promise<boolean> {
    clearTimeout(this.pingTimer);
    const answer = await this.call('/pos/ping', [], {});
    if (answer.kind === 'connection-lost') {
      this.goOffline();
      return false;
    }
    this.offline = false;
    // Only a clean answer fires `pos-network-online`; an RPCError just ends the check.
    return answer.kind === 'result';
  }

  private goOffline(): void {
    this.offline = true;
    if (!goesOfflineOnConnectionLost(this.version) || this.stopped) return;
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      void this.exclusive(async () => {
        if (!this.stopped && (await this.checkConnectivity())) await this.push('ping-answered');
      });
    }, this.pingIntervalMs);
  }

  private async call(path: string, uuids: string[], params: Record<string, unknown>): Promise<RpcAnswer> {
    const exchange: TillExchange = { at: new Date().toISOString(), path, uuids, answer: 'connection-lost', detail: '' };
    let answer: RpcAnswer;
    try {
      const reply = await postJson(`${this.baseUrl()}${path}`, jsonRpcCall(++this.rpcId, params), this.headers, this.timeoutMs, this.abort.signal);
      answer = classifyHttpAnswer(reply);
      exchange.status = reply.status;
      exchange.detail = reply.body.slice(0, 200);
    } catch (err) {
      answer = networkFailure();
      exchange.detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    exchange.answer = answer.kind;
    this.exchanges.push(exchange);
    if (this.exchanges.length > KEPT_EXCHANGES) this.exchanges.shift();
    return answer;
  }

  private context(): Record<string, unknown> {
    if (this.version === '16' || this.version === '17') return {};
    // 18 sends `login_number`, 19 `device_identifier` (getSyncAllOrdersContext).
    return this.version === '18'
      ? { config_id: 1, login_number: this.loginNumber }
      : { config_id: 1, device_identifier: this.device };
  }

  private newOrder(amount: number): HeldOrder {
    this.sequence += 1;
    const uid = `${pad(this.sessionId, 5)}-${pad(this.loginNumber, 3)}-${pad(this.sequence, 4)}`;
    const posReference = `Order ${uid}`;
    const now = new Date().toISOString();
    const line = { product_id: 1, qty: 1, price_unit: amount, price_subtotal: amount, price_subtotal_incl: amount, discount: 0 };
    if (this.version === '16' || this.version === '17') {
      const data = {
        name: posReference,
        uid,
        amount_total: amount,
        amount_paid: amount,
        amount_tax: 0,
        amount_return: 0,
        pos_session_id: this.sessionId,
        sequence_number: this.sequence,
        creation_date: now,
        partner_id: false,
        fiscal_position_id: false,
        lines: [[0, 0, { ...line, id: this.sequence, tax_ids: [[6, false, []]] }]],
        statement_ids: [[0, 0, { name: now, amount, payment_method_id: 1 }]],
        to_invoice: false,
      };
      return { record: { uuid: uid, posReference, state: 'pending', pushes: 0 }, payload: { id: uid, data, to_invoice: false }, queued: true };
    }
    const uuid = randomUUID();
    const payload = {
      uuid,
      pos_reference: posReference,
      name: posReference,
      amount_total: amount,
      amount_paid: amount,
      amount_tax: 0,
      amount_return: 0,
      state: 'paid',
      session_id: this.sessionId,
      sequence_number: this.sequence,
      date_order: now,
      lines: [[0, 0, { ...line, uuid: randomUUID(), tax_ids: [] }]],
      payment_ids: [[0, 0, { uuid: randomUUID(), amount, payment_method_id: 1, payment_date: now }]],
    };
    return { record: { uuid, posReference, state: 'pending', pushes: 0 }, payload, queued: true };
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
