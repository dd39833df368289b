import { createHash } from 'node:crypto';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from './erp-simulator.js';
import { isRead, parseOdooCall, posOrders } from './odoo-rpc.js';

const kw = (model: string, method: string, args: unknown[] = [], kwargs: object = {}) =>
  JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'call', params: { model, method, args, kwargs } });

describe('Odoo call parsing', () => {
  it('reads call_kw and execute_kw', () => {
    expect(parseOdooCall('/web/dataset/call_kw', JSON.parse(kw('pos.order', 'sync_from_ui', [[{ uuid: 'u' }]])))).toMatchObject({ model: 'pos.order', method: 'sync_from_ui', id: 7 });
    expect(parseOdooCall('/jsonrpc', { params: { service: 'object', method: 'execute_kw', args: ['db', 2, 'pw', 'res.partner', 'search_read', [[]], { limit: 2 }] } })).toMatchObject({
      model: 'res.partner',
      method: 'search_read',
      kwargs: { limit: 2 },
    });
    expect(parseOdooCall('/jsonrpc', { params: { service: 'common', method: 'login' } })).toHaveProperty('error');
  });
  it("finds each POS order's uuid as Odoo versions name it", () => {
    const call = { id: 1, model: 'pos.order', method: 'create_from_ui', args: [[{ uuid: 'a' }, { data: { uid: 'b' } }, { id: 'c' }, { data: { uuid: 'd' } }, 'junk']], kwargs: {} };
    expect(posOrders(call)).toEqual([{ uuid: 'a' }, { uuid: 'b' }, { uuid: 'c' }, { uuid: 'd' }, { uuid: null }]);
  });
  it('tells reads from writes', () => {
    expect(isRead('search_read')).toBe(true);
    expect(isRead('load_pos_data')).toBe(true);
    expect(isRead('sync_from_ui')).toBe(false);
    expect(isRead('button_validate')).toBe(false);
  });
});

describe('ERP simulator', () => {
  let sim: ErpSimulator;
  beforeEach(async () => {
    sim = await startErpSimulator();
  });
  afterEach(async () => sim.close());

  const call = (body: string, headers: Record<string, string> = {}, path = '/web/dataset/call_kw') =>
    request(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('answers /ping with OK', async () => {
    const res = await request(`${sim.url}/ping`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('OK');
  });

  it('serves product reads without committing anything', async () => {
    const res = await call(kw('product.product', 'search_read', [], { limit: 3 }));
    const body = (await res.body.json()) as { id: number; result: unknown[] };
    expect(body.id).toBe(7);
    expect(body.result).toHaveLength(3);
    expect(sim.commits()).toEqual([]);
  });

  it('commits a POS order once, deduplicating by Idempotency-Key and by order uuid', async () => {
    const order = kw('pos.order', 'sync_from_ui', [[{ uuid: 'order-1' }]]);
    const first = (await (await call(order, { 'idempotency-key': 'k1', 'x-device-id': 'pos-1' })).body.json()) as { result: unknown };
    const byKey = (await (await call(kw('pos.order', 'sync_from_ui', [[{ uuid: 'other' }]]), { 'idempotency-key': 'k1' })).body.json()) as { result: unknown };
    const byUuid = (await (await call(order, { 'idempotency-key': 'k2' })).body.json()) as { result: unknown };
    expect(first.result).toEqual([{ id: 1, uuid: 'order-1' }]);
    expect(byKey.result).toEqual(first.result);
    expect(byUuid.result).toEqual(first.result);
    expect(sim.commits()).toMatchObject([{ seq: 1, key: 'k1', uuid: 'order-1', device: 'pos-1', model: 'pos.order' }]);
    expect(sim.duplicates()).toBe(2);
  });

  it('commits through /jsonrpc execute_kw too', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 3, params: { service: 'object', method: 'execute_kw', args: ['db', 2, 'pw', 'stock.picking', 'button_validate', [[17]], {}] } });
    const res = (await (await call(body, {}, '/jsonrpc')).body.json()) as { result: unknown };
    expect(res.result).toBe(true);
    expect(sim.commits()).toMatchObject([{ model: 'stock.picking', method: 'button_validate' }]);
  });

  it('answers malformed JSON-RPC with 400 and survives', async () => {
    expect((await call('{"params":')).statusCode).toBe(400);
    expect((await call('{"params":{"model":1}}')).statusCode).toBe(400);
    expect((await request(`${sim.url}/ping`)).statusCode).toBe(200);
  });

  it('fails with the configured status and Retry-After, for a counted number of requests', async () => {
    sim.setBehavior({ mode: 'fail', status: 429, retryAfterS: 3, count: 2 });
    const order = kw('pos.order', 'sync_from_ui', [[{ uuid: 'f' }]]);
    const a = await call(order);
    expect(a.statusCode).toBe(429);
    expect(a.headers['retry-after']).toBe('3');
    await a.body.dump();
    expect((await call(order)).statusCode).toBe(429);
    expect((await call(order)).statusCode).toBe(200);
    expect(sim.commits()).toHaveLength(1);
  });

  it('drops the connection after committing (the ambiguous failure), or before', async () => {
    sim.setBehavior({ mode: 'drop-after-commit', count: 1 });
    await expect(call(kw('pos.order', 'sync_from_ui', [[{ uuid: 'amb' }]]))).rejects.toThrow();
    expect(sim.commits().map((c) => c.uuid)).toEqual(['amb']);
    sim.setBehavior({ mode: 'drop-before-commit', count: 1 });
    await expect(call(kw('pos.order', 'sync_from_ui', [[{ uuid: 'lost' }]]))).rejects.toThrow();
    expect(sim.commits().map((c) => c.uuid)).toEqual(['amb']);
  });

  it('hangs until the client gives up, and still closes promptly', async () => {
    sim.setBehavior({ mode: 'hang' });
    await expect(request(`${sim.url}/ping`, { headersTimeout: 200 })).rejects.toThrow();
  });

  it('applies a behaviour only under its path prefix', async () => {
    sim.setBehavior({ mode: 'fail', status: 500, pathPrefix: '/jsonrpc' });
    expect((await request(`${sim.url}/ping`)).statusCode).toBe(200);
    expect((await call('{}', {}, '/jsonrpc')).statusCode).toBe(500);
  });

  it('serves at most `concurrency` requests at once under a capacity limit', async () => {
    sim.setCapacity({ concurrency: 2, serviceMs: 30 });
    const order = (i: number) => call(kw('pos.order', 'sync_from_ui', [[{ uuid: `c${i}` }]]));
    const done: number[] = [];
    await Promise.all([0, 1, 2, 3, 4, 5].map((i) => order(i).then(async (r) => (await r.body.dump(), done.push(i)))));
    // FIFO in pairs: the first two finish before the last two start.
    expect(done.slice(0, 2).sort()).toEqual([0, 1]);
    expect(done.slice(4).sort()).toEqual([4, 5]);
  });

  it('streams blobs and hashes uploads', async () => {
    const blob = await request(`${sim.url}/_sim/blob?bytes=200000`);
    expect(blob.headers['content-length']).toBe('200000');
    expect((await blob.body.arrayBuffer()).byteLength).toBe(200000);
    const payload = Buffer.alloc(300_000, 3);
    const up = (await (await request(`${sim.url}/_sim/upload`, { method: 'PUT', body: payload })).body.json()) as { bytes: number; sha256: string };
    expect(up).toEqual({ bytes: 300_000, sha256: createHash('sha256').update(payload).digest('hex') });
  });

  it('is controlled over HTTP too, and refuses bad control input', async () => {
    const bad = await request(`${sim.url}/_sim/control`, { method: 'POST', body: '{"mode":"explode"}' });
    expect(bad.statusCode).toBe(400);
    await bad.body.dump();
    await (await request(`${sim.url}/_sim/control`, { method: 'POST', body: '{"mode":"fail","status":502}' })).body.dump();
    expect((await request(`${sim.url}/ping`)).statusCode).toBe(502);
    const state = (await (await request(`${sim.url}/_sim/state`)).body.json()) as { behavior: { mode: string } };
    expect(state.behavior.mode).toBe('fail');
    await (await request(`${sim.url}/_sim/reset`, { method: 'POST' })).body.dump();
    expect((await request(`${sim.url}/ping`)).statusCode).toBe(200);
  });
});
