// A store's mixed traffic against a gateway, as the fault matrix and the soak
// drive it:
//
// - POS terminals send orders (Odoo `sync_from_ui`, a critical buffer route
//   keyed by the order's uuid). As a real POS does, a terminal keeps an order
//   until the gateway acknowledges it — 200 (delivered) or 202 (buffered: the
//   gateway took responsibility) — and sends the SAME uuid again after no
//   answer, a connection error or a 5xx (507 buffer_full included).
// - Scanners send stock validations (an interactive buffer route keyed by the
//   Idempotency-Key header), retried the same way with the same key.
// - A trickle of catalogue reads (a cache route) and pages (passthrough),
//   sent once each.
// - Emulated Odoo 18 tills (src/demo/pos/), which follow the real client's
//   rules: they keep what they are told did not go through, send it again
//   with the next order or at a reload, and revert an order to unpaid on an
//   answer they misread. Judged as the cashier sees it: paid = at the ERP,
//   none lost, doubled or reverted.
//
// Every request is recorded: answered or not, status, time to the response
// headers, and whether that was within the route's timeoutMs + slack. At the
// end, verify() holds the acknowledged orders and scans against what the ERP
// simulator committed: every acknowledged one exactly once.
import { Agent, request } from 'undici';
import { PosTill } from '../../src/demo/pos/till.js';
import { posVerdict, type PosVerdict } from '../../src/demo/pos/verdict.js';
import type { ErpSimulator } from '../../src/sim/erp-simulator.js';
import { posOrderBody } from './pos.js';

export type LoadClass = 'order' | 'scan' | 'catalog' | 'page';
export const LOAD_CLASSES: readonly LoadClass[] = ['order', 'scan', 'catalog', 'page'];

export interface LoadMixOptions {
  /** The gateway's LAN base URL; read before every request (a restarted gateway may move). */
  target: () => string;
  /** Unique per run: every uuid and key starts with it. */
  prefix: string;
  pos?: number;
  scanners?: number;
  catalogPerSec?: number;
  pagesPerSec?: number;
  /** Pause between a device's acknowledged write and its next one, ms [min, max]. */
  thinkMs?: [number, number];
  /** Wait before sending an unacknowledged write again, ms [min, max]. */
  retryMs?: [number, number];
  /** The routes' timeoutMs: the gateway must answer within this + slackMs. */
  deadlines: Record<LoadClass, number>;
  /** Added to every deadline: event-loop and scheduling noise on a shared 2-core machine, not gateway time. Default 2500. */
  slackMs?: number;
  /** X-Device-Token per device id (pos-1…, scan-1…); none: devices send no token. */
  deviceToken?: (device: string) => string;
  /** Requests that the client gives up waiting for after deadline + slack + this (counted as unanswered). Default 5000. */
  giveUpAfterMs?: number;
  /** A note of this many bytes in every order (bigger journal entries). Default 0. */
  orderNoteBytes?: number;
  /** Emulated Odoo 18 tills (devices till-1…), each paying an order every thinkMs and reloading every fifth. Default 3. */
  tills?: number;
}

export interface ClassStats {
  sent: number;
  answered: number;
  /** Answered later than the deadline + slack. */
  late: number;
  /** Client gave up waiting: the gateway was alive and did not answer. */
  unanswered: number;
  /** Connection refused, reset or closed before an answer (a gateway down or killed). */
  connectionErrors: number;
  byStatus: Record<string, number>;
  /** Milliseconds to the response headers, of answered requests. */
  latencies: number[];
  /** The latest few late answers, for the failure message. */
  lateSamples: string[];
}

export interface WriteRecord {
  cls: 'order' | 'scan';
  id: string;
  attempts: number;
  /** 200 or 202 seen at least once. */
  acked: boolean;
  /** Every attempt was answered with a refusal that stores nothing (507). */
  refusedOnly: boolean;
  statuses: number[];
}

export interface LoadVerdict {
  acked: { order: number; scan: number };
  /** Committed at the ERP (ours only). */
  committed: { order: number; scan: number };
  /** Acknowledged, not committed. */
  lost: string[];
  /** Committed more than once. */
  duplicated: string[];
  /** Committed though never acknowledged: allowed (the answer was lost on the way, e.g. a kill). */
  committedUnacked: number;
  /** Never acknowledged and only ever answered 507, yet committed: the gateway stored what it refused. */
  refusedButCommitted: string[];
  /** Orders whose commit did not carry the order's uuid as its Idempotency-Key. */
  keyMismatch: number;
  /** Writes answered 409 dead_letter. */
  deadLetters: number;
  /** Retries the ERP answered from memory (same key again): the ambiguous failures, absorbed. */
  erpDedupHits: number;
  /** The emulated tills' orders, as the cashiers see them. */
  tills: PosVerdict;
}

const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
/**
 * Picking ids across every mix of the process: Odoo refuses to validate a done
 * picking, and cases of one file share their ERP, so a second mix must not
 * validate the first one's pickings.
 */
let nextPicking = 1;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function emptyStats(): ClassStats {
  return { sent: 0, answered: 0, late: 0, unanswered: 0, connectionErrors: 0, byStatus: {}, latencies: [], lateSamples: [] };
}

function jsonRpc(model: string, method: string, args: unknown[]): string {
  return JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { model, method, args, kwargs: {} } });
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export class LoadMix {
  readonly stats: Record<LoadClass, ClassStats> = { order: emptyStats(), scan: emptyStats(), catalog: emptyStats(), page: emptyStats() };
  readonly writes = new Map<string, WriteRecord>();
  readonly #o: Required<Omit<LoadMixOptions, 'deviceToken'>> & Pick<LoadMixOptions, 'deviceToken'>;
  readonly #agent: Agent;
  readonly #tills: PosTill[] = [];
  /** The picking each scan validates, the same on every re-send. */
  readonly #pickings = new Map<string, number>();
  #creating = false;
  #retrying = false;
  #gaveUp = false;
  #loops: Promise<void>[] = [];
  #seq = 0;
  #catalogKeys = ['widgets', 'gadgets', 'bolts', 'screws', 'nails', 'glue', 'tape', 'rope'];

  constructor(o: LoadMixOptions) {
    this.#o = { pos: 6, scanners: 3, catalogPerSec: 3, pagesPerSec: 2, thinkMs: [100, 400], retryMs: [200, 600], slackMs: 2500, giveUpAfterMs: 5000, orderNoteBytes: 0, tills: 3, ...o };
    // One pool for the store's devices; a request on a socket the gateway's death closed fails and is retried by the device.
    this.#agent = new Agent({ connections: 64, keepAliveTimeout: 4000, pipelining: 1 });
  }

  get options(): Readonly<LoadMixOptions> {
    return this.#o;
  }

  start(): void {
    this.#creating = this.#retrying = true;
    for (let d = 1; d <= this.#o.pos; d++) this.#loops.push(this.#writer('order', `pos-${d}`));
    for (let d = 1; d <= this.#o.scanners; d++) this.#loops.push(this.#writer('scan', `scan-${d}`));
    for (let d = 1; d <= this.#o.tills; d++) this.#loops.push(this.#till(`till-${d}`));
    if (this.#o.catalogPerSec > 0) this.#loops.push(this.#reader('catalog', this.#o.catalogPerSec));
    if (this.#o.pagesPerSec > 0) this.#loops.push(this.#reader('page', this.#o.pagesPerSec));
  }

  /**
   * No new writes or reads; devices keep sending their unacknowledged write
   * until it is acknowledged or `retryForMs` has passed (then they give it up,
   * as a POS switched off would, for now).
   */
  async stop(retryForMs = 30_000): Promise<void> {
    this.#creating = false;
    const giveUp = setTimeout(() => {
      this.#retrying = false;
      this.#gaveUp = true;
    }, retryForMs);
    await Promise.all(this.#loops);
    clearTimeout(giveUp);
    this.#retrying = false;
    this.#loops = [];
    await this.#agent.close();
  }

  /**
   * A cashier selling: an order paid every thinkMs, the page reloaded every
   * fifth. Once selling stops, the till is reloaded until it holds nothing
   * unsent (a cashier closing the session), as long as devices keep re-sending.
   */
  async #till(device: string): Promise<void> {
    const token = this.#o.deviceToken?.(device);
    const till = new PosTill({ version: '18', baseUrl: this.#o.target, device, headers: token ? { 'x-device-token': token } : {}, requestTimeoutMs: this.#o.deadlines.order + this.#o.slackMs + this.#o.giveUpAfterMs });
    this.#tills.push(till);
    for (let n = 1; this.#creating; n++) {
      await till.payOrder(10 + (n % 90));
      if (n % 5 === 0) await till.start();
      await sleep(rand(...this.#o.thinkMs));
    }
    while (this.#retrying && till.records().some((r) => r.state === 'pending')) {
      await till.start();
      await sleep(rand(...this.#o.retryMs));
    }
    await till.stop();
  }

  #pickingOf(id: string): number {
    let picking = this.#pickings.get(id);
    if (picking === undefined) this.#pickings.set(id, (picking = nextPicking++));
    return picking;
  }

  /** Whether stop() ran out of time before every device had its writes taken (a till then still holds orders). */
  get gaveUp(): boolean {
    return this.#gaveUp;
  }

  /** Writes not acknowledged (yet). */
  unacked(): WriteRecord[] {
    return [...this.writes.values()].filter((w) => !w.acked);
  }

  async #writer(cls: 'order' | 'scan', device: string): Promise<void> {
    while (this.#creating) {
      const id = `${this.#o.prefix}-${device}-${++this.#seq}`;
      const rec: WriteRecord = { cls, id, attempts: 0, acked: false, refusedOnly: true, statuses: [] };
      this.writes.set(id, rec);
      while (!rec.acked && (this.#creating || this.#retrying)) {
        rec.attempts++;
        const status = await this.#send(cls, device, id);
        if (status !== undefined) rec.statuses.push(status);
        if (status !== 507) rec.refusedOnly = false;
        if (status === 200 || status === 202) rec.acked = true;
        else if (status === 409 || (status !== undefined && status >= 400 && status < 500)) break; // a refusal sending again will not change
        else await sleep(rand(...this.#o.retryMs));
      }
      if (this.#creating) await sleep(rand(...this.#o.thinkMs));
    }
  }

  async #reader(cls: 'catalog' | 'page', perSec: number): Promise<void> {
    const inflight = new Set<Promise<unknown>>();
    while (this.#creating) {
      const n = ++this.#seq;
      const p = this.#send(cls, 'pos-1', String(n)).finally(() => inflight.delete(p));
      inflight.add(p);
      await sleep(rand(0.5, 1.5) * (1000 / perSec));
    }
    await Promise.all(inflight);
  }

  /** One request; the status, or undefined when there was no answer. */
  async #send(cls: LoadClass, device: string, id: string): Promise<number | undefined> {
    const s = this.stats[cls];
    const deadline = this.#o.deadlines[cls] + this.#o.slackMs;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const token = this.#o.deviceToken?.(device);
    if (token) headers['x-device-token'] = token;
    let path: string;
    let method: 'GET' | 'POST' = 'POST';
    let body: string | undefined;
    switch (cls) {
      case 'order':
        path = '/web/dataset/call_kw/pos.order/sync_from_ui';
        body = posOrderBody(id, 10 + (this.#seq % 90));
        if (this.#o.orderNoteBytes > 0) body = body.replace('"lines"', `"note":"${'n'.repeat(this.#o.orderNoteBytes)}","lines"`);
        break;
      case 'scan':
        path = '/web/dataset/call_kw/stock.picking/button_validate';
        headers['idempotency-key'] = id;
        body = jsonRpc('stock.picking', 'button_validate', [[this.#pickingOf(id)]]);
        break;
      case 'catalog':
        path = '/web/dataset/call_kw/product.product/search_read';
        body = jsonRpc('product.product', 'search_read', [[['categ', '=', this.#catalogKeys[Number(id) % this.#catalogKeys.length]]], ['name', 'list_price']]);
        break;
      case 'page':
        method = 'GET';
        path = `/_sim/echo/pos/page-${Number(id) % 5}`;
        delete headers['content-type'];
        break;
    }
    s.sent++;
    const t0 = performance.now();
    try {
      const res = await request(`${this.#o.target()}${path}`, {
        method,
        headers,
        body,
        dispatcher: this.#agent,
        headersTimeout: deadline + this.#o.giveUpAfterMs,
        bodyTimeout: deadline + this.#o.giveUpAfterMs,
      });
      const ms = performance.now() - t0;
      await res.body.dump().catch(() => undefined);
      s.answered++;
      s.latencies.push(ms);
      s.byStatus[res.statusCode] = (s.byStatus[res.statusCode] ?? 0) + 1;
      if (ms > deadline) {
        s.late++;
        s.lateSamples.push(`${cls} ${id}: ${res.statusCode} after ${Math.round(ms)} ms (deadline ${this.#o.deadlines[cls]} + ${this.#o.slackMs})`);
        if (s.lateSamples.length > 10) s.lateSamples.shift();
      }
      return res.statusCode;
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        s.unanswered++;
        s.lateSamples.push(`${cls} ${id}: no answer after ${Math.round(performance.now() - t0)} ms`);
        if (s.lateSamples.length > 10) s.lateSamples.shift();
      } else s.connectionErrors++;
      return undefined;
    }
  }

  /** Holds what was acknowledged against what the ERP committed. */
  verify(erp: ErpSimulator): LoadVerdict {
    const counts = new Map<string, number>();
    let keyMismatch = 0;
    for (const c of erp.commits()) {
      const id = c.model === 'pos.order' ? c.uuid : c.model === 'stock.picking' ? c.key : null;
      if (id === null || !id.startsWith(`${this.#o.prefix}-`)) continue;
      if (c.model === 'pos.order' && c.key !== c.uuid) keyMismatch++;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const v: LoadVerdict = {
      acked: { order: 0, scan: 0 },
      committed: { order: 0, scan: 0 },
      lost: [],
      duplicated: [],
      committedUnacked: 0,
      refusedButCommitted: [],
      keyMismatch,
      deadLetters: 0,
      erpDedupHits: erp.duplicates(),
      tills: this.#tillVerdict(erp),
    };
    for (const w of this.writes.values()) {
      const n = counts.get(w.id) ?? 0;
      if (n > 0) v.committed[w.cls]++;
      if (n > 1) v.duplicated.push(`${w.id} ×${n}`);
      if (w.statuses.includes(409)) v.deadLetters++;
      if (w.acked) {
        v.acked[w.cls]++;
        if (n === 0) v.lost.push(w.id);
      } else if (n > 0) {
        v.committedUnacked++;
        if (w.refusedOnly && w.statuses.length > 0) v.refusedButCommitted.push(w.id);
      }
    }
    return v;
  }

  #tillVerdict(erp: ErpSimulator): PosVerdict {
    const ours = new Set(this.#tills.flatMap((t) => t.records().map((r) => r.uuid)));
    return posVerdict(this.#tills, erp.commits().filter((c) => c.model === 'pos.order' && c.uuid !== null && ours.has(c.uuid)));
  }

  /** The tills' recent exchanges, for a failure message. */
  tillsDescribed(): string {
    return this.#tills.map((t) => t.describe()).join('\n');
  }

  /** Deadline misses of every class: late answers and requests the gateway never answered while alive. */
  deadlineMisses(): { late: number; unanswered: number; samples: string[] } {
    const all = LOAD_CLASSES.map((c) => this.stats[c]);
    return { late: all.reduce((n, s) => n + s.late, 0), unanswered: all.reduce((n, s) => n + s.unanswered, 0), samples: all.flatMap((s) => s.lateSamples) };
  }

  /** One line per class: sent, answered, statuses, p50/p99/max. */
  summary(): string {
    return LOAD_CLASSES.map((c) => {
      const s = this.stats[c];
      const st = Object.entries(s.byStatus)
        .map(([k, n]) => `${k}:${n}`)
        .join(' ');
      const p = (q: number) => Math.round(percentile(s.latencies, q));
      return `${c.padEnd(7)} sent ${s.sent}, answered ${s.answered} [${st}], conn errors ${s.connectionErrors}, late ${s.late}, unanswered ${s.unanswered}, p50 ${p(50)} ms, p99 ${p(99)} ms, max ${Math.round(s.latencies.reduce((a, b) => Math.max(a, b), 0))} ms`;
    }).join('\n');
  }
}
