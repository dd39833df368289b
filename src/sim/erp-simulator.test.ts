import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator, type SimOrder } from './erp-simulator.js';

type Json = Record<string, unknown>;

const kw = (model: string, method: string, args: unknown[] = [], kwargs: Json = {}, id: unknown = 7) =>
  JSON.stringify({ jsonrpc: '2.0', method: 'call', id, params: { model, method, args, kwargs } });
const sync = (...uuids: string[]) => kw('pos.order', 'sync_from_ui', [uuids.map((uuid) => ({ uuid, pos_reference: `Order ${uuid}`, amount_total: 12.5 }))]);
/** The (id, uuid) pairs of an 18/19 sync_from_ui answer's pos.order list. */
const synced = (result: unknown) => (result as { 'pos.order': Json[] })['pos.order'].map((o) => ({ id: o.id, uuid: o.uuid }));
const execKw = (model: string, method: string, args: unknown[] = [], kwargs: Json = {}) =>
  JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 3, params: { service: 'object', method: 'execute_kw', args: ['db', 2, 'pw', model, method, args, kwargs] } });

/** Expected content of an n-byte blob: byte i is i mod 256. */
function blobSha256(n: number): string {
  const chunk = Buffer.from(Array.from({ length: 65536 }, (_, i) => i % 256));
  const hash = createHash('sha256');
  for (let left = n; left > 0; left -= chunk.length) hash.update(chunk.subarray(0, Math.min(left, chunk.length)));
  return hash.digest('hex');
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 5000; !(await check()); await sleep(5)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

let sim: ErpSimulator;
beforeEach(async () => {
  sim = await startErpSimulator();
});
afterEach(async () => {
  await sim.close();
});

async function post(path: string, body: string | Buffer | Readable, headers: Record<string, string | string[]> = {}) {
  const res = await request(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: (text ? JSON.parse(text) : undefined) as Json };
}
const call = (body: string, headers: Record<string, string> = {}) => post('/web/dataset/call_kw', body, headers);

async function get(path: string, opts: { method?: 'GET' | 'HEAD' | 'POST'; body?: string } = {}) {
  const res = await request(`${sim.url}${path}`, { method: opts.method ?? 'GET', body: opts.body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}
const state = async () => JSON.parse((await get('/_sim/state')).text) as { profile: string; received: number; commits: number; duplicates: number; behavior: Json; capacity: Json | null; load: Json; busConnections: number };

describe('ERP simulator: Odoo JSON-RPC', () => {
  it('answers /ping with OK', async () => {
    const res = await get('/ping');
    expect(res).toMatchObject({ status: 200, text: 'OK' });
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('serves product reads on every endpoint, honouring limit, without committing', async () => {
    const path = await post('/web/dataset/call_kw/product.product/search_read', kw('product.product', 'search_read', [[]], { limit: 3, fields: ['display_name'] }));
    expect(path.status).toBe(200);
    expect(path.json).toMatchObject({ jsonrpc: '2.0', id: 7 });
    expect(path.json.result).toEqual([
      { id: 1, display_name: 'Product 1', list_price: expect.any(Number), barcode: expect.any(String) },
      { id: 2, display_name: 'Product 2', list_price: expect.any(Number), barcode: expect.any(String) },
      { id: 3, display_name: 'Product 3', list_price: expect.any(Number), barcode: expect.any(String) },
    ]);
    const external = await post('/jsonrpc', execKw('product.product', 'search_read', [[]]));
    expect(external.json).toMatchObject({ jsonrpc: '2.0', id: 3 });
    expect(external.json.result).toHaveLength(80);
    expect((await call(kw('pos.session', 'load_pos_data', [[1]]))).json.result).toEqual([]);
    expect(sim.commits()).toEqual([]);
  });

  it('commits each order of a POS sync, with the request key and device, answering with ids', async () => {
    const before = Date.now();
    const res = await post('/web/dataset/call_kw/pos.order/sync_from_ui', sync('o-1', 'o-2'), { 'idempotency-key': 'k1', 'x-device-id': 'pos-3' });
    expect(res.json).toMatchObject({ jsonrpc: '2.0', id: 7 });
    expect(synced(res.json.result)).toEqual([{ id: 1, uuid: 'o-1' }, { id: 2, uuid: 'o-2' }]);
    const commits = sim.commits();
    expect(commits).toMatchObject([
      { seq: 1, key: 'k1', uuid: 'o-1', posReference: 'Order o-1', model: 'pos.order', method: 'sync_from_ui', recordId: 1, device: 'pos-3' },
      { seq: 2, key: 'k1', uuid: 'o-2', posReference: 'Order o-2', recordId: 2, device: 'pos-3' },
    ]);
    expect(commits[0]!.body).toEqual(JSON.parse(sync('o-1', 'o-2')));
    expect(commits[0]!.receivedAt).toBeGreaterThanOrEqual(before);
    expect(commits[0]!.receivedAt).toBeLessThanOrEqual(Date.now());
  });

  it('commits writes of other models, on /jsonrpc and call_kw alike, with no key or device', async () => {
    expect((await post('/jsonrpc', execKw('stock.quant', 'action_apply_inventory', [[5]]))).json).toEqual({ jsonrpc: '2.0', id: 3, result: true });
    expect((await call(kw('stock.picking', 'button_validate', [[17]]))).json.result).toBe(true);
    expect((await call(kw('res.partner', 'create', [{ name: 'x' }]))).json.result).toBe(1);
    expect((await call(kw('res.partner', 'create', [{ name: 'y' }]))).json.result).toBe(2);
    expect(sim.commits().map((c) => [c.model, c.method, c.key, c.uuid, c.recordId, c.device])).toEqual([
      ['stock.quant', 'action_apply_inventory', null, null, null, null],
      ['stock.picking', 'button_validate', null, null, 17, null],
      ['res.partner', 'create', null, null, 1, null],
      ['res.partner', 'create', null, null, 2, null],
    ]);
  });

  it('ignores Idempotency-Key as Odoo does: a repeated key with new orders commits them', async () => {
    await call(sync('o-1'), { 'idempotency-key': 'k1' });
    const again = await call(kw('pos.order', 'sync_from_ui', [[{ uuid: 'o-other' }]], {}, 8), { 'idempotency-key': 'k1' });
    expect(synced(again.json.result)).toEqual([{ id: 2, uuid: 'o-other' }]);
    expect(sim.commits().map((c) => c.uuid)).toEqual(['o-1', 'o-other']);
    expect(sim.duplicates()).toBe(0);
  });

  it('answers a repeated order by its uuid, with its server id, without committing it again', async () => {
    await call(sync('o-1'));
    const again = await post('/jsonrpc', execKw('pos.order', 'sync_from_ui', [[{ uuid: 'o-1' }]]));
    expect(synced(again.json.result)).toEqual([{ id: 1, uuid: 'o-1' }]);
    expect(sim.commits()).toHaveLength(1);
    expect(sim.duplicates()).toBe(1);
  });

  it('answers malformed JSON-RPC with 400 and a JSON-RPC error, and keeps serving', async () => {
    const bad = await call('{"params":');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.any(String) } });
    const noModel = await call(JSON.stringify({ jsonrpc: '2.0', id: 5, params: { method: 'search_read' } }));
    expect(noModel.status).toBe(400);
    expect(noModel.json).toMatchObject({ jsonrpc: '2.0', id: 5, error: { code: -32600 } });
    expect((await post('/jsonrpc', JSON.stringify({ params: { service: 'common', method: 'login', args: [] } }))).status).toBe(400);
    expect((await call('')).status).toBe(400);
    expect((await call(sync('o-1'))).status).toBe(200);
  });

  it('takes a body of any content type, or none', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8', 'nonsense', '']) {
      expect((await call(sync(`o-${type}`), { 'content-type': type })).status, type).toBe(200);
    }
    const untyped = await request(`${sim.url}/web/dataset/call_kw`, { method: 'POST', body: sync('o-untyped') });
    expect(untyped.statusCode).toBe(200);
    await untyped.body.dump();
    expect(sim.commits()).toHaveLength(6);
  });

  it('answers unknown paths with 404', async () => {
    expect((await get('/web/image/1')).status).toBe(404);
    expect((await get('/web/dataset/call_kw')).status).toBe(404);
  });
});

describe('ERP simulator: behaviours', () => {
  it('fails with the given status and Retry-After without committing, for `count` requests', async () => {
    sim.setBehavior({ mode: 'fail', status: 429, retryAfterS: 3, count: 2 });
    const a = await call(sync('o-1'));
    expect(a).toMatchObject({ status: 429, json: { error: 'simulated' } });
    expect(a.headers['retry-after']).toBe('3');
    expect((await call(sync('o-1'))).status).toBe(429);
    expect(sim.commits()).toEqual([]);
    expect((await call(sync('o-1'))).status).toBe(200);
    expect(sim.commits()).toHaveLength(1);
  });

  it('fails with 503 by default, /ping included, but never the control endpoints', async () => {
    sim.setBehavior({ mode: 'fail' });
    const ping = await get('/ping');
    expect(ping.status).toBe(503);
    expect(ping.headers['retry-after']).toBeUndefined();
    expect((await get('/_sim/blob?bytes=10')).status).toBe(503);
    expect((await state()).behavior).toEqual({ mode: 'fail' });
    expect((await get('/_sim/commits')).status).toBe(200);
  });

  it('applies a behaviour only under its path prefix', async () => {
    sim.setBehavior({ mode: 'fail', status: 500, pathPrefix: '/jsonrpc', count: 1 });
    expect((await get('/ping')).status).toBe(200);
    expect((await call(sync('o-1'))).status).toBe(200);
    expect((await post('/jsonrpc', execKw('stock.picking', 'button_validate', [[1]]))).status).toBe(500);
    expect((await post('/jsonrpc', execKw('stock.picking', 'button_validate', [[1]]))).status).toBe(200);
  });

  it('slows down by delayMs, then answers and commits as usual', async () => {
    sim.setBehavior({ mode: 'slow', delayMs: 150, count: 1 });
    const started = performance.now();
    const res = await call(sync('o-1'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.status).toBe(200);
    expect(sim.commits()).toHaveLength(1);
  });

  it('drops the connection after committing: the client sees an error, the ERP has the order, a retry is a duplicate', async () => {
    sim.setBehavior({ mode: 'drop-after-commit', count: 1 });
    await expect(call(sync('o-amb'), { 'idempotency-key': 'k-amb' })).rejects.toThrow(/closed|reset|socket/i);
    expect(sim.commits().map((c) => c.uuid)).toEqual(['o-amb']);
    const retry = await call(sync('o-amb'), { 'idempotency-key': 'k-amb' });
    expect(synced(retry.json.result)).toEqual([{ id: 1, uuid: 'o-amb' }]);
    expect(sim.commits()).toHaveLength(1);
    expect(sim.duplicates()).toBe(1);
  });

  it('drops the connection before committing', async () => {
    sim.setBehavior({ mode: 'drop-before-commit', count: 1 });
    await expect(call(sync('o-lost'), { 'idempotency-key': 'k-lost' })).rejects.toThrow(/closed|reset|socket/i);
    expect(sim.commits()).toEqual([]);
    expect((await call(sync('o-lost'), { 'idempotency-key': 'k-lost' })).status).toBe(200);
    expect(sim.duplicates()).toBe(0);
  });

  it('drops connections on paths that commit nothing, in both drop modes', async () => {
    sim.setBehavior({ mode: 'drop-after-commit', count: 1 });
    await expect(request(`${sim.url}/ping`)).rejects.toThrow();
    sim.setBehavior({ mode: 'drop-before-commit', count: 1 });
    await expect(request(`${sim.url}/_sim/blob?bytes=100`)).rejects.toThrow();
    expect((await get('/ping')).status).toBe(200);
  });

  it('hangs until the client gives up, without committing', async () => {
    sim.setBehavior({ mode: 'hang' });
    const order = request(`${sim.url}/web/dataset/call_kw`, { method: 'POST', body: sync('o-hung'), headersTimeout: 200 });
    await expect(order).rejects.toThrow(/timeout/i);
    await expect(request(`${sim.url}/ping`, { headersTimeout: 200 })).rejects.toThrow(/timeout/i);
    expect(sim.commits()).toEqual([]);
  });

  it('closes promptly with hung requests open, cutting them off', async () => {
    sim.setBehavior({ mode: 'hang' });
    const hung = [request(`${sim.url}/ping`), request(`${sim.url}/web/dataset/call_kw`, { method: 'POST', body: sync('o-1') })];
    const outcomes = Promise.allSettled(hung);
    await until(async () => sim.received() === 2, 'both requests to arrive');
    const closed = await Promise.race([sim.close().then(() => 'closed'), sleep(5000, 'still open')]);
    expect(closed).toBe('closed');
    expect((await outcomes).map((o) => o.status)).toEqual(['rejected', 'rejected']);
    sim = await startErpSimulator(); // for afterEach
  });
});

describe('ERP simulator: bounded capacity', () => {
  it('serves queued requests one at a time, in arrival order, at concurrency 1', async () => {
    // Concurrency 0 holds every request, so the queue order is the order they were sent in.
    sim.setCapacity({ concurrency: 0, serviceMs: 0 });
    const answers: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      answers.push(call(sync(`o-${i}`)));
      await until(async () => (await state()).load.queued === i + 1, `request ${i} to queue`);
    }
    expect(sim.commits()).toEqual([]);
    sim.setCapacity({ concurrency: 1, serviceMs: 50 });
    await Promise.all(answers);
    expect(sim.commits().map((c) => c.uuid)).toEqual(['o-0', 'o-1', 'o-2', 'o-3']);
    expect((await state()).load).toEqual({ inService: 0, queued: 0, peakInService: 1 });
  });

  it('serves at most `concurrency` requests at once', async () => {
    sim.setCapacity({ concurrency: 0, serviceMs: 0 });
    const answers = Array.from({ length: 6 }, (_, i) => call(sync(`o-${i}`)));
    await until(async () => (await state()).load.queued === 6, 'six requests to queue');
    sim.setCapacity({ concurrency: 2, serviceMs: 50 });
    const results = await Promise.all(answers);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(sim.commits()).toHaveLength(6);
    expect((await state()).load).toMatchObject({ peakInService: 2 });
  });

  it('keeps /ping and the control endpoints out of the queue', async () => {
    sim.setCapacity({ concurrency: 0, serviceMs: 0 });
    const held = call(sync('o-1'));
    await until(async () => (await state()).load.queued === 1, 'the order to queue');
    expect((await get('/ping')).status).toBe(200);
    sim.setCapacity(null);
    expect((await held).status).toBe(200);
  });

  it('forgets a queued request whose client gave up', async () => {
    sim.setCapacity({ concurrency: 0, serviceMs: 0 });
    await expect(request(`${sim.url}/web/dataset/call_kw`, { method: 'POST', body: sync('o-gone'), headersTimeout: 200 })).rejects.toThrow(/timeout/i);
    await until(async () => (await state()).load.queued === 0, 'the queue to empty');
    sim.setCapacity({ concurrency: 1, serviceMs: 0 });
    expect((await call(sync('o-1'))).status).toBe(200);
    expect(sim.commits().map((c) => c.uuid)).toEqual(['o-1']);
  });
});

describe('ERP simulator: bulk bytes and echo', () => {
  it('streams a 50 MB blob with its length and deterministic content', async () => {
    const n = 50 * 1024 * 1024 + 123;
    const res = await request(`${sim.url}/_sim/blob?bytes=${n}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(n));
    const hash = createHash('sha256');
    let got = 0;
    for await (const chunk of res.body) {
      got += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    expect(got).toBe(n);
    expect(hash.digest('hex')).toBe(blobSha256(n));
  });

  it('serves an empty blob and refuses a missing or bad size', async () => {
    expect(await get('/_sim/blob?bytes=0')).toMatchObject({ status: 200, text: '' });
    expect((await get('/_sim/blob')).status).toBe(400);
    expect((await get('/_sim/blob?bytes=-1')).status).toBe(400);
    expect((await get('/_sim/blob?bytes=1e3')).status).toBe(400);
  });

  it('hashes streamed uploads, POST and PUT, of any content type', async () => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    const streamed = await post('/_sim/upload', Readable.from((function* () {
      for (let i = 0; i < 80; i++) yield chunk;
    })()), { 'content-type': 'application/octet-stream' });
    const expected = createHash('sha256');
    for (let i = 0; i < 80; i++) expected.update(chunk);
    expect(streamed.json).toEqual({ bytes: 80 * chunk.length, sha256: expected.digest('hex') });

    const payload = Buffer.from('hello upload');
    const put = await request(`${sim.url}/_sim/upload`, { method: 'PUT', body: payload, headers: { 'content-type': 'image/png' } });
    expect(await put.body.json()).toEqual({ bytes: payload.length, sha256: createHash('sha256').update(payload).digest('hex') });
  });

  it('echoes what it was sent, headers as received', async () => {
    const res = await request(`${sim.url}/_sim/echo/a/b?x=1&y=2`, {
      method: 'PATCH',
      headers: { 'X-Forwarded-For': ['10.0.0.1', '10.0.0.2'], 'X-Custom': 'Value', 'content-type': 'nonsense' },
      body: 'twelve bytes',
    });
    const echo = (await res.body.json()) as { method: string; url: string; headers: Record<string, unknown>; bodyBytes: number };
    expect(echo).toMatchObject({ method: 'PATCH', url: '/_sim/echo/a/b?x=1&y=2', bodyBytes: 12 });
    expect(echo.headers).toMatchObject({ host: new URL(sim.url).host, 'x-forwarded-for': ['10.0.0.1', '10.0.0.2'], 'x-custom': 'Value', 'content-type': 'nonsense' });
    const plain = JSON.parse((await get('/_sim/echo')).text) as { method: string; bodyBytes: number };
    expect(plain).toMatchObject({ method: 'GET', bodyBytes: 0 });
  });
});

describe('ERP simulator: control', () => {
  it('takes behaviours over HTTP and refuses bad ones', async () => {
    for (const bad of ['{"mode":"explode"}', '{"mode":"slow","delay":5}', 'not json', '']) {
      expect((await get('/_sim/control', { method: 'POST', body: bad })).status, bad).toBe(400);
    }
    const ok = await get('/_sim/control', { method: 'POST', body: '{"mode":"fail","status":502,"count":1}' });
    expect(ok.status).toBe(200);
    expect((await get('/ping')).status).toBe(502);
    expect((await get('/ping')).status).toBe(200);
  });

  it('takes capacity over HTTP and refuses bad input', async () => {
    expect((await get('/_sim/capacity', { method: 'POST', body: '{"concurrency":2,"serviceMs":10}' })).status).toBe(200);
    expect((await state()).capacity).toEqual({ concurrency: 2, serviceMs: 10 });
    expect((await get('/_sim/capacity', { method: 'POST', body: 'null' })).status).toBe(200);
    expect((await state()).capacity).toBeNull();
    for (const bad of ['{"concurrency":-1,"serviceMs":0}', '{"concurrency":1}', '[]', '']) {
      expect((await get('/_sim/capacity', { method: 'POST', body: bad })).status, bad).toBe(400);
    }
  });

  it('reports state and commits, counting requests on every path', async () => {
    await call(sync('o-1'), { 'idempotency-key': 'k1' });
    await call(sync('o-1'), { 'idempotency-key': 'k1' });
    await get('/nowhere');
    expect(sim.received()).toBe(3);
    const s = await state();
    expect(s).toMatchObject({ profile: 'odoo-18', honourIdempotencyKey: false, received: 4, commits: 1, duplicates: 1, behavior: { mode: 'ok' }, capacity: null, busConnections: 0 });
    const commits = JSON.parse((await get('/_sim/commits')).text) as SimOrder[];
    expect(commits).toEqual(JSON.parse(JSON.stringify(sim.commits())));
    expect(sim.received()).toBe(5);
  });

  it('resets over HTTP and in process', async () => {
    await call(sync('o-1'), { 'idempotency-key': 'k1' });
    await call(sync('o-1'), { 'idempotency-key': 'k1' });
    sim.setBehavior({ mode: 'fail', pathPrefix: '/jsonrpc' });
    sim.setCapacity({ concurrency: 5, serviceMs: 0 });
    expect((await get('/_sim/reset', { method: 'POST' })).status).toBe(200);
    expect(await state()).toMatchObject({ received: 1, commits: 0, duplicates: 0, behavior: { mode: 'ok' }, capacity: null });
    await call(sync('o-1'), { 'idempotency-key': 'k1' });
    expect(sim.commits()).toHaveLength(1);
    sim.reset();
    expect([sim.commits(), sim.duplicates(), sim.received()]).toEqual([[], 0, 0]);
  });

  it('refuses invalid behaviour and capacity from code', () => {
    expect(() => sim.setBehavior({ mode: 'explode' } as never)).toThrow(/invalid simulator behaviour/);
    expect(() => sim.setCapacity({ concurrency: -1, serviceMs: 0 })).toThrow(/invalid simulator capacity/);
  });
});
