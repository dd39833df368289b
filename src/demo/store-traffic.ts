// A store's simulated traffic for the demo: tills that are emulations of the
// real Odoo POS client of one version (src/demo/pos: they keep, re-send, drop
// or revert orders by what the gateway answers, as the browser would), a
// stock_barcode scanner saving move lines and validating pickings, and
// catalogue reads. The demo judges the gateway by what the tills end up
// believing against what the ERP committed.
import { BarcodeScanner } from './pos/scanner.js';
import { jsonRpcCall, postJson } from './pos/post-json.js';
import type { PosVersion } from './pos/push-rules.js';
import { PosTill } from './pos/till.js';

export interface StoreTrafficOptions {
  gatewayUrl: string;
  version: PosVersion;
  /** Device id → X-Device-Token: the tills (`pos-*`) and the scanner (`scanner-*`). */
  deviceTokens: ReadonlyMap<string, string>;
  /** Pause between two sales at one till. */
  everyMs: number;
  /** Pickings of this store are numbered from here: the ERP is shared, and a picking validated by another store would be refused. */
  firstPicking: number;
}

/** A cashier reloads the page now and then; 16/17 re-send held orders only then. */
const RELOAD_EVERY_ORDERS = 6;
/** Bounds every request the emulators make (the gateway answers a POS push within its route timeout). */
const REQUEST_TIMEOUT_MS = 15_000;
/** How long stopSelling() lets a scanner's write in progress finish before aborting it. */
const SCANNER_GRACE_MS = 10_000;

export class StoreTraffic {
  readonly tills: readonly PosTill[];
  readonly scanner: BarcodeScanner | undefined;
  /** Catalogue reads the gateway answered (live or from its cache). */
  reads = 0;
  readonly #o: StoreTrafficOptions;
  #running = false;
  #sellers: Promise<void>[] = [];
  #scanning: Promise<void> | undefined;

  constructor(o: StoreTrafficOptions) {
    this.#o = o;
    const headers = (device: string) => ({ 'x-device-token': o.deviceTokens.get(device) ?? '' });
    const baseUrl = () => o.gatewayUrl;
    const devices = [...o.deviceTokens.keys()];
    this.tills = devices
      .filter((d) => d.startsWith('pos-'))
      .map((device) => new PosTill({ version: o.version, baseUrl, device, headers: headers(device), requestTimeoutMs: REQUEST_TIMEOUT_MS }));
    const scanner = devices.find((d) => d.startsWith('scanner-'));
    this.scanner = scanner === undefined ? undefined : new BarcodeScanner({ baseUrl, device: scanner, headers: headers(scanner), requestTimeoutMs: REQUEST_TIMEOUT_MS });
  }

  startSelling(): void {
    this.#running = true;
    this.#sellers = this.tills.map((till, i) => this.#sell(till, i * (this.#o.everyMs / this.tills.length)));
    const first = this.tills[0];
    if (first) this.#sellers.push(this.#read(first.device));
    if (this.scanner) this.#scanning = this.#scan(this.scanner);
  }

  /** No new sales, scans or reads; what is in progress finishes (a scanner write for at most SCANNER_GRACE_MS). */
  async stopSelling(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#sellers);
    if (this.#scanning) {
      const finished = await Promise.race([this.#scanning.then(() => true), sleep(SCANNER_GRACE_MS).then(() => false)]);
      // A write the gateway has not taken by then is abandoned: it counts as sent, not acknowledged.
      if (!finished) this.scanner?.stop();
      await this.#scanning;
    }
    this.#sellers = [];
    this.#scanning = undefined;
  }

  /** Paid orders the tills still hold unsent. */
  heldAtTills(): number {
    return this.tills.reduce((n, t) => n + t.records().filter((r) => r.state === 'pending').length, 0);
  }

  /** Every till holding orders restarts, as a cashier reloading the page: it sends them again. */
  async resendHeld(): Promise<void> {
    await Promise.all(this.tills.filter((t) => t.records().some((r) => r.state === 'pending')).map((t) => t.start()));
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.scanner?.stop();
    await Promise.all([...this.tills.map((t) => t.stop()), ...this.#sellers, this.#scanning]);
  }

  async #sell(till: PosTill, offsetMs: number): Promise<void> {
    await sleep(offsetMs);
    for (let sale = 1; this.#running; sale++) {
      await till.payOrder(5 + (sale % 7) * 2.5);
      if (sale % RELOAD_EVERY_ORDERS === 0) await till.start();
      await sleep(this.#o.everyMs);
    }
  }

  /** Each picking: one save of scanned lines, then its validation. */
  async #scan(scanner: BarcodeScanner): Promise<void> {
    for (let picking = this.#o.firstPicking; this.#running; picking++) {
      await scanner.save(picking, [
        { productId: 1, qtyDone: 1 },
        { productId: 2, qtyDone: 2 },
      ]);
      if (!this.#running) return;
      await scanner.validate(picking);
      await sleep(this.#o.everyMs * 3);
    }
  }

  async #read(device: string): Promise<void> {
    const body = jsonRpcCall(1, { model: 'product.product', method: 'search_read', args: [], kwargs: { limit: 20 } });
    const headers = { 'x-device-token': this.#o.deviceTokens.get(device) ?? '' };
    while (this.#running) {
      const reply = await postJson(`${this.#o.gatewayUrl}/web/dataset/call_kw/product.product/search_read`, body, headers, REQUEST_TIMEOUT_MS, AbortSignal.timeout(REQUEST_TIMEOUT_MS)).catch(() => undefined);
      if (reply?.status === 200) this.reads++;
      await sleep(this.#o.everyMs * 2);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
