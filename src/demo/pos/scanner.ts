/**
 * An emulated warehouse scanner for Odoo's stock_barcode, made gateway-aware: every
 * write carries an Idempotency-Key, and a write that got no answer, a 5xx or a lost
 * connection is sent again, byte for byte with the same key, until a 200 or 202.
 * (The real stock_barcode client sends no key and does not re-send: ODOO-POS.md.)
 * A 4xx ends the write unacknowledged: sending it again would not change the answer.
 */
import { randomUUID } from 'node:crypto';
import { jsonRpcCall, postJson } from './post-json.js';

export interface ScannerOptions {
  baseUrl: () => string;
  device: string;
  headers?: Record<string, string>;
  /** Default 60 000: a request without an answer by then counts as no answer. */
  requestTimeoutMs?: number;
  /** Pause before each re-send; default 1000 ms. */
  retryDelayMs?: number;
  /** Give up after this many attempts; default: never (until stop()). */
  maxAttempts?: number;
}

export interface ScanLine {
  productId: number;
  qtyDone: number;
}

export interface ScannerWrite {
  kind: 'save' | 'validate';
  pickingId: number;
  idempotencyKey: string;
  /** The `dummy_id` of every new move line the save carries (none for validate). */
  dummyIds: string[];
  attempts: number;
  /** One per attempt: the HTTP status, or 'no-answer'. */
  statuses: Array<number | 'no-answer'>;
  /** A 200 or 202 came back. */
  acknowledged: boolean;
  lastDetail: string;
}

const ACKNOWLEDGED = new Set([200, 202]);

export class BarcodeScanner {
  readonly device: string;
  private readonly baseUrl: () => string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly maxAttempts: number;
  private readonly abort = new AbortController();
  private readonly log: ScannerWrite[] = [];
  private rpcId = 0;
  private lineSeq = 0;

  constructor(opts: ScannerOptions) {
    this.device = opts.device;
    this.baseUrl = opts.baseUrl;
    this.headers = { 'user-agent': `storegw-scanner-emulator (${opts.device})`, ...opts.headers };
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
    this.maxAttempts = opts.maxAttempts ?? Number.POSITIVE_INFINITY;
  }

  /** Adds move lines to a picking (`[0, 0, vals]` commands: each creates a line). */
  save(pickingId: number, lines: readonly ScanLine[]): Promise<ScannerWrite> {
    const vals = lines.map((l) => ({ dummy_id: `${this.device}-${++this.lineSeq}-${randomUUID()}`, product_id: l.productId, qty_done: l.qtyDone }));
    const body = jsonRpcCall(++this.rpcId, {
      model: 'stock.picking',
      res_id: pickingId,
      write_field: 'move_line_ids',
      write_vals: vals.map((v) => [0, 0, v]),
    });
    return this.write('save', pickingId, vals.map((v) => v.dummy_id), '/stock_barcode/save_barcode_data', body);
  }

  validate(pickingId: number): Promise<ScannerWrite> {
    const body = jsonRpcCall(++this.rpcId, {
      model: 'stock.picking',
      method: 'button_validate',
      args: [[pickingId]],
      kwargs: { context: {} },
    });
    return this.write('validate', pickingId, [], '/web/dataset/call_kw/stock.picking/button_validate', body);
  }

  writes(): ScannerWrite[] {
    return this.log.map((w) => ({ ...w, dummyIds: [...w.dummyIds], statuses: [...w.statuses] }));
  }

  describe(): string {
    const lines = this.log.map(
      (w) => `  ${w.kind} picking=${w.pickingId} key=${w.idempotencyKey} lines=${w.dummyIds.length} ${w.statuses.join(',')} ${w.acknowledged ? 'acked' : 'NOT acked'} ${w.lastDetail}`,
    );
    return [`scanner ${this.device}`, ...lines].join('\n');
  }

  stop(): void {
    this.abort.abort();
  }

  private async write(kind: ScannerWrite['kind'], pickingId: number, dummyIds: string[], path: string, body: string): Promise<ScannerWrite> {
    const record: ScannerWrite = { kind, pickingId, idempotencyKey: randomUUID(), dummyIds, attempts: 0, statuses: [], acknowledged: false, lastDetail: '' };
    this.log.push(record);
    const headers = { ...this.headers, 'idempotency-key': record.idempotencyKey };
    while (!this.abort.signal.aborted && record.attempts < this.maxAttempts) {
      if (record.attempts > 0 && !(await this.pause())) break;
      record.attempts += 1;
      try {
        const reply = await postJson(`${this.baseUrl()}${path}`, body, headers, this.timeoutMs, this.abort.signal);
        record.statuses.push(reply.status);
        record.lastDetail = reply.body.slice(0, 200);
        if (ACKNOWLEDGED.has(reply.status)) {
          record.acknowledged = true;
          break;
        }
        if (reply.status < 500) break;
      } catch (err) {
        record.statuses.push('no-answer');
        record.lastDetail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
    }
    return { ...record, dummyIds: [...record.dummyIds], statuses: [...record.statuses] };
  }

  /** Waits retryDelayMs; false when stop() came first. */
  private pause(): Promise<boolean> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(true), this.retryDelayMs);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
