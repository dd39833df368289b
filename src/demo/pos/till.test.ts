import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BarcodeScanner } from './scanner.js';
import { PosTill } from './till.js';
import type { PosVersion } from './push-rules.js';

/** How the fake server answers one request. */
type Mode = 'list' | 'dict' | 'dict-without-orders' | 'buffered' | '502' | 'html' | 'rpc-error' | 'drop' | 'bad-request' | 'ok';

interface Seen {
  path: string;
  body: { id?: number; params?: { args?: unknown[] } & Record<string, unknown> };
  raw: string;
  key: string | undefined;
}

/** A tiny HTTP server whose answers the test scripts: one mode per request, then `fallback`. */
class FakeOdoo {
  readonly seen: Seen[] = [];
  readonly script: Mode[] = [];
  fallback: Mode = 'ok';
  pingMode: Mode = 'ok';
  private server: Server = createServer((req, res) => void this.handle(req, res));
  private serverId = 100;

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  pushes(): Seen[] {
    return this.seen.filter((s) => s.path !== '/pos/ping');
  }

  /** The orders (16/17: `{id}`; 18/19: `{uuid}`) each push carried. */
  sentIds(): string[][] {
    return this.pushes().map((s) => {
      const orders = (s.body.params?.args?.[0] ?? []) as Array<{ id?: string; uuid?: string }>;
      return orders.map((o) => o.uuid ?? o.id ?? '?');
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const body = JSON.parse(raw) as Seen['body'];
    const path = req.url ?? '';
    const key = req.headers['idempotency-key'];
    this.seen.push({ path, body, raw, key: Array.isArray(key) ? key[0] : key });
    const mode = path === '/pos/ping' ? this.pingMode : (this.script.shift() ?? this.fallback);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const orders = (body.params?.args?.[0] ?? []) as Array<{ uuid?: string; data?: { name: string } }>;
    switch (mode) {
      case 'list':
        return json(200, { jsonrpc: '2.0', id: body.id, result: orders.map((o) => ({ id: ++this.serverId, pos_reference: o.data?.name, account_move: false })) });
      case 'dict':
      case 'dict-without-orders':
        return json(200, {
          jsonrpc: '2.0',
          id: body.id,
          result: {
            'pos.order': mode === 'dict' ? orders.map((o) => ({ id: ++this.serverId, uuid: o.uuid, state: 'paid' })) : [],
            'pos.session': [],
            'pos.payment': [],
            'pos.order.line': [],
            'pos.pack.operation.lot': [],
            'product.attribute.custom.value': [],
          },
        });
      case 'buffered':
        return json(202, { status: 'buffered', receipt: 'r-1', idempotencyKey: 'k-1' });
      case '502':
        res.writeHead(502, { 'content-type': 'text/html' });
        return void res.end('<html>Bad Gateway</html>');
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' });
        return void res.end('<html>login</html>');
      case 'rpc-error':
        return json(200, { jsonrpc: '2.0', id: body.id, error: { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.UserError', message: 'no' } } });
      case 'drop':
        return void req.socket.destroy();
      case 'bad-request':
        return json(400, { error: 'bad request' });
      case 'ok':
        return json(200, { jsonrpc: '2.0', id: body.id, result: true });
    }
  }
}

let odoo: FakeOdoo;
let baseUrl: string;
const stoppers: Array<() => unknown> = [];

beforeEach(async () => {
  odoo = new FakeOdoo();
  baseUrl = await odoo.listen();
});
afterEach(async () => {
  await Promise.all(stoppers.splice(0).map((stop) => stop()));
  await odoo.close();
});

function newTill(version: PosVersion): PosTill {
  const till = new PosTill({ version, baseUrl: () => baseUrl, device: `pos-${version}`, headers: { 'x-device-token': 't' }, requestTimeoutMs: 5000, pingIntervalMs: 40 });
  stoppers.push(() => till.stop());
  return till;
}

const states = (till: PosTill) => till.records().map((r) => r.state);

/** Waits (on timers) until `check` holds, for the 19 ping loop. */
async function eventually(check: () => boolean, what: () => string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(check(), what()).toBe(true);
}

describe('PosTill 16', () => {
  it('posts create_from_ui with the order under data, and deletes it on a list result', async () => {
    odoo.script.push('list');
    const till = newTill('16');
    const rec = await till.payOrder(12.5);
    expect(rec).toMatchObject({ state: 'deleted', pushes: 1 });
    expect(rec.posReference).toMatch(/^Order \d{5}-\d{3}-\d{4}$/);
    const [push] = odoo.pushes();
    expect(push?.path).toBe('/web/dataset/call_kw/pos.order/create_from_ui');
    expect(push?.body.params).toMatchObject({ model: 'pos.order', method: 'create_from_ui', kwargs: { context: {} } });
    expect(push?.body.params?.args).toEqual([[expect.objectContaining({ id: rec.uuid, to_invoice: false, data: expect.objectContaining({ name: rec.posReference, uid: rec.uuid, amount_total: 12.5 }) })], false]);
  });

  it('deletes the order on a 202 buffered answer too (it never sees it again)', async () => {
    odoo.script.push('buffered');
    const till = newTill('16');
    expect((await till.payOrder()).state).toBe('deleted');
  });

  it('keeps orders on 502, non-JSON, a dropped connection and an RPCError; start sends them in one batch', async () => {
    odoo.script.push('502', 'html', 'drop', 'rpc-error');
    const till = newTill('16');
    for (let i = 0; i < 4; i++) expect((await till.payOrder()).state).toBe('pending');
    // Each Validate sent only its own order.
    expect(odoo.sentIds().map((ids) => ids.length)).toEqual([1, 1, 1, 1]);
    odoo.script.push('list');
    await till.start();
    expect(odoo.sentIds().at(-1)).toHaveLength(4);
    expect(states(till)).toEqual(['deleted', 'deleted', 'deleted', 'deleted']);
  });

  it('retries a batch one order per call after an RPCError', async () => {
    odoo.script.push('502', '502', 'rpc-error', 'list', 'rpc-error');
    const till = newTill('16');
    await till.payOrder();
    await till.payOrder();
    await till.start();
    expect(odoo.sentIds().map((ids) => ids.length)).toEqual([1, 1, 2, 1, 1]);
    expect(states(till)).toEqual(['deleted', 'pending']);
  });
});

describe('PosTill 17', () => {
  it('deletes the order on a list result; a result that is not a list (true) reverts the next one', async () => {
    odoo.fallback = 'list';
    const till = newTill('17');
    expect((await till.payOrder()).state).toBe('deleted');
    odoo.script.push('ok');
    // `result: true` is not iterable: reverted.
    expect((await till.payOrder()).state).toBe('reverted');
  });

  it.each(['buffered', 'dict', 'rpc-error'] as const)('reverts the order to unpaid on %s at Validate', async (mode) => {
    odoo.script.push(mode);
    const till = newTill('17');
    expect(await till.payOrder()).toMatchObject({ state: 'reverted', pushes: 1 });
  });

  it.each(['502', 'html', 'drop'] as const)('keeps the order paid and pending on %s; start re-sends it', async (mode) => {
    odoo.script.push(mode, 'rpc-error', 'list');
    const till = newTill('17');
    expect((await till.payOrder()).state).toBe('pending');
    await till.start(); // RPCError at start: not reverted, still pending
    expect(states(till)).toEqual(['pending']);
    await till.start();
    expect(till.records()[0]).toMatchObject({ state: 'deleted', pushes: 3 });
  });
});

describe('PosTill 18', () => {
  it('posts sync_from_ui with [[order]] and syncs the order with its server id', async () => {
    odoo.script.push('dict');
    const till = newTill('18');
    const rec = await till.payOrder();
    expect(rec.state).toBe('synced');
    expect(rec.serverId).toBeGreaterThan(100);
    const [push] = odoo.pushes();
    expect(push?.path).toBe('/web/dataset/call_kw/pos.order/sync_from_ui');
    expect(push?.body.params?.args).toEqual([[expect.objectContaining({ uuid: rec.uuid, pos_reference: rec.posReference, state: 'paid' })]]);
  });

  it.each(['buffered', 'list', '502', 'html', 'drop'] as const)('keeps the order pending on %s and sends it with the next one', async (mode) => {
    odoo.script.push(mode, 'dict');
    const till = newTill('18');
    expect((await till.payOrder()).state).toBe('pending');
    await till.payOrder();
    expect(odoo.sentIds().map((ids) => ids.length)).toEqual([1, 2]);
    expect(states(till)).toEqual(['synced', 'synced']);
  });

  it('reverts the validated order on an RPCError', async () => {
    odoo.script.push('rpc-error');
    const till = newTill('18');
    expect((await till.payOrder()).state).toBe('reverted');
  });

  it('an answer that does not list the order dequeues it until the next start', async () => {
    odoo.script.push('dict-without-orders', 'dict', 'dict');
    const till = newTill('18');
    expect((await till.payOrder()).state).toBe('pending');
    await till.payOrder();
    expect(odoo.sentIds().map((ids) => ids.length)).toEqual([1, 1]);
    await till.start();
    expect(odoo.sentIds().map((ids) => ids.length)).toEqual([1, 1, 1]);
    expect(states(till)).toEqual(['synced', 'synced']);
  });

  it('on the online event pings, then sends what is pending', async () => {
    odoo.script.push('drop', 'dict');
    const till = newTill('18');
    await till.payOrder();
    await till.online();
    expect(odoo.seen.map((s) => s.path)).toEqual(['/web/dataset/call_kw/pos.order/sync_from_ui', '/pos/ping', '/web/dataset/call_kw/pos.order/sync_from_ui']);
    expect(states(till)).toEqual(['synced']);
  });
});

describe('PosTill 19', () => {
  it('sends one order per call', async () => {
    odoo.script.push('buffered', 'dict', 'dict');
    const till = newTill('19');
    await till.payOrder();
    await till.payOrder();
    expect(odoo.sentIds().map((ids) => ids.length)).toEqual([1, 1, 1]);
    expect(states(till)).toEqual(['synced', 'synced']);
  });

  it('goes offline on a lost connection, pings every interval and re-sends when a ping answers', async () => {
    odoo.script.push('drop');
    odoo.pingMode = '502';
    odoo.fallback = 'dict';
    const till = newTill('19');
    expect((await till.payOrder()).state).toBe('pending');
    expect(till.isOffline).toBe(true);
    // Offline: a new Validate sends nothing.
    await till.payOrder();
    expect(odoo.pushes()).toHaveLength(1);
    await eventually(() => odoo.seen.filter((s) => s.path === '/pos/ping').length >= 2, () => till.describe());
    odoo.pingMode = 'ok';
    await eventually(() => states(till).every((s) => s === 'synced'), () => till.describe());
    expect(till.isOffline).toBe(false);
    expect(odoo.sentIds().map((ids) => ids.length)).toEqual([1, 1, 1]);
  });

  it('an RPCError at Validate reverts the current order', async () => {
    odoo.script.push('rpc-error');
    const till = newTill('19');
    expect((await till.payOrder()).state).toBe('reverted');
  });

  it('stop() ends the ping loop', async () => {
    odoo.script.push('drop');
    odoo.pingMode = 'drop';
    const till = newTill('19');
    await till.payOrder();
    await till.stop();
    const pings = odoo.seen.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(odoo.seen.length).toBe(pings);
  });
});

describe('BarcodeScanner', () => {
  function newScanner(maxAttempts?: number): BarcodeScanner {
    const scanner = new BarcodeScanner({ baseUrl: () => baseUrl, device: 'scan-1', retryDelayMs: 10, requestTimeoutMs: 5000, ...(maxAttempts ? { maxAttempts } : {}) });
    stoppers.push(() => scanner.stop());
    return scanner;
  }

  it('re-sends the same save, same key, after 5xx and a dropped connection, until 202', async () => {
    odoo.script.push('502', 'drop', 'buffered');
    const scanner = newScanner();
    const write = await scanner.save(7, [{ productId: 3, qtyDone: 2 }, { productId: 4, qtyDone: 1 }]);
    expect(write).toMatchObject({ kind: 'save', pickingId: 7, attempts: 3, statuses: [502, 'no-answer', 202], acknowledged: true });
    expect(write.dummyIds).toHaveLength(2);
    const saves = odoo.seen;
    expect(saves.map((s) => s.path)).toEqual(Array(3).fill('/stock_barcode/save_barcode_data'));
    expect(new Set(saves.map((s) => s.raw)).size).toBe(1);
    expect(new Set(saves.map((s) => s.key))).toEqual(new Set([write.idempotencyKey]));
    expect(saves[0]?.body.params).toMatchObject({
      model: 'stock.picking',
      res_id: 7,
      write_field: 'move_line_ids',
      write_vals: [[0, 0, { dummy_id: write.dummyIds[0], product_id: 3, qty_done: 2 }], [0, 0, { dummy_id: write.dummyIds[1], product_id: 4, qty_done: 1 }]],
    });
  });

  it('validates with its own key; a 4xx ends the write unacknowledged', async () => {
    odoo.script.push('ok', 'bad-request');
    const scanner = newScanner();
    const ok = await scanner.validate(7);
    expect(ok).toMatchObject({ kind: 'validate', acknowledged: true, attempts: 1 });
    expect(odoo.seen[0]?.path).toBe('/web/dataset/call_kw/stock.picking/button_validate');
    expect(odoo.seen[0]?.body.params).toMatchObject({ model: 'stock.picking', method: 'button_validate', args: [[7]] });
    const refused = await scanner.save(7, [{ productId: 1, qtyDone: 1 }]);
    expect(refused).toMatchObject({ acknowledged: false, attempts: 1, statuses: [400] });
    expect(refused.idempotencyKey).not.toBe(ok.idempotencyKey);
    expect(scanner.writes()).toHaveLength(2);
  });

  it('gives up after maxAttempts', async () => {
    odoo.fallback = '502';
    const write = await newScanner(3).save(1, [{ productId: 1, qtyDone: 1 }]);
    expect(write).toMatchObject({ attempts: 3, acknowledged: false });
  });
});
