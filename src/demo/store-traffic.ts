// Simulated store traffic for the demo: POS terminals sending orders (retried
// with the same uuid until acknowledged, as real POS do), scanners validating
// pickings, and catalog reads. It counts what the gateway acknowledged, so the
// demo can show at the end that nothing acknowledged was lost.
import { randomUUID } from 'node:crypto';
import { request } from 'undici';

export interface TrafficCounts {
  sent: number;
  /** 200 (delivered) or 202 (journaled): the gateway took responsibility. */
  acked: number;
  journaled: number;
  refused: number;
  reads: number;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function orderBody(uuid: string, device: string): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    method: 'call',
    id: 1,
    params: { model: 'pos.order', method: 'sync_from_ui', args: [[{ uuid, amount_total: 12.5, pos_session: device, lines: [[0, 0, { product_id: 42, qty: 1 }]] }]], kwargs: {} },
  });
}

function pickingBody(picking: number): string {
  return JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { model: 'stock.picking', method: 'button_validate', args: [[picking]], kwargs: {} } });
}

function catalogBody(): string {
  return JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { model: 'product.product', method: 'search_read', args: [], kwargs: { limit: 20 } } });
}

export class StoreTraffic {
  readonly counts: TrafficCounts = { sent: 0, acked: 0, journaled: 0, refused: 0, reads: 0 };
  /** Order uuids the gateway acknowledged. */
  readonly ackedOrders = new Set<string>();
  #running = false;
  #loops: Promise<void>[] = [];

  /**
   * `deviceTokens`: device id → X-Device-Token, the tills' (`pos-*`) and the
   * scanner's (`scanner-*`): each till is its own device, so its orders are
   * delivered in its own order and never wait behind another till's.
   */
  constructor(
    private readonly gatewayUrl: string,
    private readonly deviceTokens: ReadonlyMap<string, string>,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.#running = true;
    const tills = [...this.deviceTokens.keys()].filter((d) => d.startsWith('pos-'));
    tills.forEach((d, i) => this.#loops.push(this.#pos(d, i * (this.everyMs / tills.length))));
    const scanner = [...this.deviceTokens.keys()].find((d) => d.startsWith('scanner-'));
    if (scanner) this.#loops.push(this.#scanner(scanner));
    if (tills[0]) this.#loops.push(this.#reader(tills[0]));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    this.#loops = [];
  }

  async #post(device: string, path: string, body: string, headers: Record<string, string> = {}): Promise<number | undefined> {
    try {
      const res = await request(`${this.gatewayUrl}${path}`, {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'x-device-token': this.deviceTokens.get(device) ?? '', ...headers },
        body,
        headersTimeout: 15_000,
        bodyTimeout: 15_000,
      });
      await res.body.dump();
      return res.statusCode;
    } catch {
      return undefined;
    }
  }

  async #pos(device: string, offsetMs: number): Promise<void> {
    await sleep(offsetMs);
    while (this.#running) {
      const uuid = randomUUID();
      this.counts.sent++;
      // A till retries the same order until the gateway takes it.
      for (let attempt = 0; this.#running || attempt === 0; attempt++) {
        const status = await this.#post(device, '/web/dataset/call_kw/pos.order/sync_from_ui', orderBody(uuid, device), { 'x-request-id': `${device}-${uuid.slice(0, 8)}` });
        if (status === 200 || status === 202) {
          this.counts.acked++;
          if (status === 202) this.counts.journaled++;
          this.ackedOrders.add(uuid);
          break;
        }
        this.counts.refused++;
        await sleep(1000);
      }
      await sleep(this.everyMs);
    }
  }

  async #scanner(device: string): Promise<void> {
    let picking = 1000;
    while (this.#running) {
      picking++;
      await this.#post(device, '/web/dataset/call_kw/stock.picking/button_validate', pickingBody(picking), { 'idempotency-key': `picking-${picking}-${randomUUID()}` });
      await sleep(this.everyMs * 3);
    }
  }

  async #reader(device: string): Promise<void> {
    while (this.#running) {
      if ((await this.#post(device, '/web/dataset/call_kw/product.product/search_read', catalogBody())) === 200) this.counts.reads++;
      await sleep(this.everyMs * 2);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
