// The simulator over real sockets, answering as each Odoo release: POS pushes
// per profile, Idempotency-Key handling, whole-call rollback, stock_barcode,
// /pos/ping and the /websocket bus, with the behaviours applied to all of them.
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startErpSimulator, type ErpSimulator, type ErpSimulatorOptions, type OdooProfile } from './erp-simulator.js';

type Json = Record<string, unknown>;

const sims: ErpSimulator[] = [];
async function start(opts: ErpSimulatorOptions = {}): Promise<ErpSimulator> {
  const sim = await startErpSimulator(opts);
  sims.push(sim);
  return sim;
}
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

const rpc = (params: Json, id: unknown = 1) => JSON.stringify({ jsonrpc: '2.0', method: 'call', id, params });
const kw = (model: string, method: string, args: unknown[] = [], id: unknown = 1) => rpc({ model, method, args, kwargs: { context: {} } }, id);
/** What 16/17 push: a batch of {id, data, to_invoice}. */
const createFromUi = (...names: string[]) => kw('pos.order', 'create_from_ui', [names.map((name) => ({ id: name, data: { name, uid: name.slice(6), amount_total: 5, lines: [], statement_ids: [] }, to_invoice: false })), false]);
/** What 18/19 push. */
const syncFromUi = (...orders: Json[]) => kw('pos.order', 'sync_from_ui', [orders]);
const order = (uuid: string, extra: Json = {}): Json => ({ uuid, pos_reference: `Order ${uuid}`, state: 'paid', amount_total: 12.5, ...extra });

async function post(sim: ErpSimulator, path: string, body: string, headers: Record<string, string> = {}) {
  const res = await request(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text) as Json };
}
const callKw = (sim: ErpSimulator, body: string, headers: Record<string, string> = {}) => post(sim, '/web/dataset/call_kw', body, headers);
const posOrders = (result: unknown) => (result as { 'pos.order': Json[] })['pos.order'];

describe('ERP simulator: POS order pushes per Odoo release', () => {
  it('defaults to odoo-18 and says so in its state', async () => {
    const sim = await start();
    expect(sim.profile).toBe('odoo-18');
    const state = (await (await request(`${sim.url}/_sim/state`)).body.json()) as Json;
    expect(state).toMatchObject({ profile: 'odoo-18', honourIdempotencyKey: false });
  });

  it('refuses an unknown profile', async () => {
    await expect(startErpSimulator({ profile: 'odoo-15' as OdooProfile })).rejects.toThrow(/unknown simulator profile/);
  });

  for (const profile of ['odoo-16', 'odoo-17'] as const) {
    it(`${profile}: create_from_ui answers a list and skips orders it has; sync_from_ui is a missing method`, async () => {
      const sim = await start({ profile });
      const first = await callKw(sim, createFromUi('Order 00001-001-0001', 'Order 00001-001-0002'), { 'x-device-id': 'till-1' });
      expect(first).toEqual({
        status: 200,
        json: {
          jsonrpc: '2.0',
          id: 1,
          result: [
            { id: 2, pos_reference: 'Order 00001-001-0002', account_move: false },
            { id: 1, pos_reference: 'Order 00001-001-0001', account_move: false },
          ],
        },
      });
      const again = await callKw(sim, createFromUi('Order 00001-001-0002', 'Order 00001-001-0003'));
      expect(again.json.result).toEqual([{ id: 3, pos_reference: 'Order 00001-001-0003', account_move: false }]);
      expect(sim.commits().map((c) => [c.uuid, c.posReference, c.method, c.recordId, c.device])).toEqual([
        ['00001-001-0001', 'Order 00001-001-0001', 'create_from_ui', 1, 'till-1'],
        ['00001-001-0002', 'Order 00001-001-0002', 'create_from_ui', 2, 'till-1'],
        ['00001-001-0003', 'Order 00001-001-0003', 'create_from_ui', 3, null],
      ]);
      expect(sim.duplicates()).toBe(1);

      const missing = await callKw(sim, syncFromUi(order('u-1')));
      expect(missing.status).toBe(200);
      expect(missing.json).toEqual({
        jsonrpc: '2.0',
        id: 1,
        error: { code: 200, message: 'Odoo Server Error', data: expect.objectContaining({ name: 'builtins.AttributeError', message: "The method 'sync_from_ui' does not exist on the model 'pos.order'" }) },
      });
      expect(sim.commits()).toHaveLength(3);
    });
  }

  for (const profile of ['odoo-18', 'odoo-19'] as const) {
    it(`${profile}: sync_from_ui answers the dict of lists, a repeated order with its id again; create_from_ui is a missing method`, async () => {
      const sim = await start({ profile });
      const first = await callKw(sim, syncFromUi(order('u-1')));
      expect(first.json.result).toEqual({
        'pos.order': [{ id: 1, uuid: 'u-1', pos_reference: 'Order u-1', name: 'Shop/0001', state: 'paid', amount_total: 12.5, session_id: false }],
        'pos.session': [],
        'pos.payment': [],
        'pos.order.line': [],
        'pos.pack.operation.lot': [],
        'product.attribute.custom.value': [],
      });
      const again = await callKw(sim, syncFromUi(order('u-1'), order('u-2')));
      expect(posOrders(again.json.result).map((o) => [o.id, o.uuid])).toEqual([
        [1, 'u-1'],
        [2, 'u-2'],
      ]);
      expect(sim.commits().map((c) => [c.uuid, c.posReference, c.method])).toEqual([
        ['u-1', 'Order u-1', 'sync_from_ui'],
        ['u-2', 'Order u-2', 'sync_from_ui'],
      ]);
      expect(sim.duplicates()).toBe(1);

      const missing = await callKw(sim, createFromUi('Order 00001-001-0001'));
      expect(missing.json.error).toMatchObject({ code: 200, data: { name: 'builtins.AttributeError', message: "The method 'create_from_ui' does not exist on the model 'pos.order'" } });
      expect(sim.commits()).toHaveLength(2);
    });
  }

  it('rolls back the whole call when one order fails, answering Odoo’s server error with HTTP 200', async () => {
    const sim = await start();
    const failed = await callKw(sim, syncFromUi(order('u-1'), order('u-2', { _sim_fail: true })));
    expect(failed.status).toBe(200);
    expect(failed.json).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.UserError', message: expect.any(String), debug: expect.any(String) } } });
    expect(sim.commits()).toEqual([]);
    expect(posOrders((await callKw(sim, syncFromUi(order('u-1')))).json.result)).toMatchObject([{ id: 1 }]);

    const legacy = await start({ profile: 'odoo-17' });
    const body = kw('pos.order', 'create_from_ui', [[{ id: 'a', data: { name: 'Order A' } }, { id: 'b', data: { name: 'Order B', _sim_fail: true } }], false]);
    expect((await callKw(legacy, body)).json.error).toMatchObject({ code: 200, data: { name: 'odoo.exceptions.UserError' } });
    expect(legacy.commits()).toEqual([]);
  });
});

describe('ERP simulator: Idempotency-Key', () => {
  it('is ignored by default: a replay with the same key and a new order commits the new order', async () => {
    const sim = await start();
    await callKw(sim, syncFromUi(order('u-1')), { 'idempotency-key': 'k' });
    const replay = await callKw(sim, syncFromUi(order('u-2')), { 'idempotency-key': 'k' });
    expect(posOrders(replay.json.result).map((o) => o.uuid)).toEqual(['u-2']);
    expect(sim.commits().map((c) => [c.uuid, c.key])).toEqual([
      ['u-1', 'k'],
      ['u-2', 'k'],
    ]);
    expect(sim.duplicates()).toBe(0);
  });

  it('with honourIdempotencyKey, answers a repeated key from memory without running the call', async () => {
    const sim = await start({ honourIdempotencyKey: true });
    expect(sim.honourIdempotencyKey).toBe(true);
    const first = await callKw(sim, syncFromUi(order('u-1')), { 'idempotency-key': 'k' });
    const replay = await callKw(sim, kw('pos.order', 'sync_from_ui', [[order('u-2')]], 9), { 'idempotency-key': 'k' });
    expect(replay.json).toEqual({ jsonrpc: '2.0', id: 9, result: first.json.result });
    expect(sim.commits().map((c) => c.uuid)).toEqual(['u-1']);
    expect(sim.duplicates()).toBe(1);
    // A failed call is not remembered: its retry runs.
    await callKw(sim, syncFromUi(order('u-3', { _sim_fail: true })), { 'idempotency-key': 'k-fail' });
    await callKw(sim, syncFromUi(order('u-3')), { 'idempotency-key': 'k-fail' });
    expect(sim.commits().map((c) => c.uuid)).toEqual(['u-1', 'u-3']);
  });
});

describe('ERP simulator: stock_barcode', () => {
  const save = (pickingId: number, ...writeVals: unknown[]) => rpc({ model: 'stock.picking', res_id: pickingId, write_field: 'move_line_ids', write_vals: writeVals });
  const count = async (sim: ErpSimulator, model: string, domain: unknown[]) => (await callKw(sim, kw(model, 'search_count', [domain]))).json.result;

  it('creates a new move line on every replay of a save, whatever the headers', async () => {
    const sim = await start();
    const body = save(4, [0, 0, { product_id: 1, quantity: 1, dummy_id: 'scan-1' }]);
    const first = await post(sim, '/stock_barcode/save_barcode_data', body, { 'idempotency-key': 'same' });
    await post(sim, '/stock_barcode/save_barcode_data', body, { 'idempotency-key': 'same' });
    expect(first.json).toMatchObject({ jsonrpc: '2.0', id: 1, result: { data: { records: { 'stock.picking': [{ id: 4 }] } } } });
    expect(sim.commits().map((c) => [c.model, c.method, c.uuid, c.recordId])).toEqual([
      ['stock.move.line', 'save_barcode_data', 'scan-1', 1],
      ['stock.move.line', 'save_barcode_data', 'scan-1', 2],
    ]);
    expect(await count(sim, 'stock.move.line', [['dummy_id', '=', 'scan-1']])).toBe(2);
    expect(sim.duplicates()).toBe(0);
    const loaded = await post(sim, '/stock_barcode/get_barcode_data', rpc({ model: 'stock.picking', res_id: 4 }, 5));
    expect(loaded.json).toMatchObject({ id: 5, result: { data: { records: { 'stock.picking': [{ id: 4, move_line_ids: [1, 2] }] } } } });
    expect(sim.commits()).toHaveLength(2);
  });

  it('validates a picking once; the second button_validate is an error that commits nothing', async () => {
    const sim = await start();
    expect((await callKw(sim, kw('stock.picking', 'button_validate', [[9]]))).json.result).toBe(true);
    const twice = await callKw(sim, kw('stock.picking', 'button_validate', [[9]]));
    expect(twice).toMatchObject({ status: 200, json: { error: { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.UserError' } } } });
    expect(sim.commits().map((c) => [c.model, c.method, c.uuid, c.recordId])).toEqual([['stock.picking', 'button_validate', null, 9]]);
    expect(await count(sim, 'stock.picking', [['id', '=', 9], ['state', '=', 'done']])).toBe(1);
    expect(await count(sim, 'stock.picking', [['id', 'in', [8, 9]], ['state', '=', 'done']])).toBe(1);
    const read = await callKw(sim, rpc({ model: 'stock.picking', method: 'search_read', args: [[['state', '=', 'done']]], kwargs: { fields: ['state'] } }));
    expect(read.json.result).toEqual([{ id: 9, state: 'done' }]);
  });

  it('answers a malformed stock_barcode body with 400 and a failing save with a server error', async () => {
    const sim = await start();
    expect((await post(sim, '/stock_barcode/save_barcode_data', '{"params": 3}')).status).toBe(400);
    const failed = await post(sim, '/stock_barcode/save_barcode_data', save(4, [0, 0, { product_id: 1 }], [0, 0, { product_id: 2, _sim_fail: true }]));
    expect(failed.json.error).toMatchObject({ code: 200, data: { name: 'odoo.exceptions.UserError' } });
    expect(sim.commits()).toEqual([]);
  });
});

describe('ERP simulator: /pos/ping', () => {
  it('odoo-19 answers pong as JSON-RPC', async () => {
    const sim = await start({ profile: 'odoo-19' });
    expect(await post(sim, '/pos/ping', rpc({}, 42))).toEqual({ status: 200, json: { jsonrpc: '2.0', id: 42, result: { response: 'pong' } } });
  });

  it('earlier releases have no such route: Odoo’s 404 JSON-RPC error', async () => {
    for (const profile of ['odoo-16', 'odoo-17', 'odoo-18'] as const) {
      const sim = await start({ profile });
      const res = await post(sim, '/pos/ping', rpc({}, 42));
      expect(res.json, profile).toMatchObject({ jsonrpc: '2.0', id: 42, error: { code: 404, message: '404: Not Found' } });
    }
  });

  it('shows the behaviours: failing, then answering again', async () => {
    const sim = await start({ profile: 'odoo-19' });
    sim.setBehavior({ mode: 'fail', status: 502, count: 1, pathPrefix: '/pos/ping' });
    expect((await request(`${sim.url}/pos/ping`, { method: 'POST', body: rpc({}) })).statusCode).toBe(502);
    expect((await post(sim, '/pos/ping', rpc({}))).json.result).toEqual({ response: 'pong' });
  });
});

describe('ERP simulator: drop-after-commit on the new endpoints', () => {
  it('commits a barcode save, then drops; the replay creates another line', async () => {
    const sim = await start();
    sim.setBehavior({ mode: 'drop-after-commit', count: 1, pathPrefix: '/stock_barcode/' });
    const body = rpc({ model: 'stock.picking', res_id: 4, write_field: 'move_line_ids', write_vals: [[0, 0, { product_id: 1, dummy_id: 'x' }]] });
    await expect(post(sim, '/stock_barcode/save_barcode_data', body)).rejects.toThrow(/closed|reset|socket/i);
    expect(sim.commits()).toHaveLength(1);
    await post(sim, '/stock_barcode/save_barcode_data', body);
    expect(sim.commits().map((c) => c.recordId)).toEqual([1, 2]);
  });

  it('commits a validation, then drops; the retry is a UserError', async () => {
    const sim = await start();
    sim.setBehavior({ mode: 'drop-after-commit', count: 1 });
    await expect(callKw(sim, kw('stock.picking', 'button_validate', [[3]]))).rejects.toThrow(/closed|reset|socket/i);
    expect((await callKw(sim, kw('stock.picking', 'button_validate', [[3]]))).json.error).toMatchObject({ data: { name: 'odoo.exceptions.UserError' } });
    expect(sim.commits()).toHaveLength(1);
  });

  it('commits a 16/17 batch, then drops; the replay is skipped and answered with an empty list', async () => {
    const sim = await start({ profile: 'odoo-17' });
    sim.setBehavior({ mode: 'drop-after-commit', count: 1 });
    await expect(callKw(sim, createFromUi('Order 00001-001-0001'))).rejects.toThrow(/closed|reset|socket/i);
    expect((await callKw(sim, createFromUi('Order 00001-001-0001'))).json.result).toEqual([]);
    expect(sim.commits()).toHaveLength(1);
    expect(sim.duplicates()).toBe(1);
  });

  it('drops /pos/ping at once: it commits nothing', async () => {
    const sim = await start({ profile: 'odoo-19' });
    sim.setBehavior({ mode: 'drop-after-commit', count: 1 });
    await expect(request(`${sim.url}/pos/ping`, { method: 'POST', body: rpc({}) })).rejects.toThrow();
    expect(sim.commits()).toEqual([]);
  });
});

describe('ERP simulator: /websocket bus', () => {
  async function connect(sim: ErpSimulator, path = '/websocket?version=18.0-1'): Promise<{ ws: WebSocket; frames: unknown[] }> {
    const ws = new WebSocket(`${sim.url.replace('http', 'ws')}${path}`);
    const frames: unknown[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
    await once(ws, 'open');
    return { ws, frames };
  }
  const subscribe = (ws: WebSocket, channels: unknown[], last = 0) => ws.send(JSON.stringify({ event_name: 'subscribe', data: { channels, last } }));
  async function until(check: () => boolean, what: string): Promise<void> {
    for (const deadline = Date.now() + 5000; !check(); await sleep(5)) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }

  it('pushes [{id, message: {type, payload}}] to the sockets subscribed to the channel only', async () => {
    const sim = await start();
    const a = await connect(sim);
    const b = await connect(sim);
    subscribe(a.ws, ['pos_config-1']);
    subscribe(b.ws, ['other']);
    await until(() => sim.busConnections() === 2, 'two sockets');
    await sleep(20); // let the subscribe frames arrive
    const sent = sim.notify('pos_config-1', 'SYNCHRONISATION', { login_number: 3 });
    expect(sent).toEqual({ id: 1, message: { type: 'SYNCHRONISATION', payload: { login_number: 3 } } });
    await until(() => a.frames.length === 1, 'the notification');
    expect(a.frames).toEqual([[{ id: 1, message: { type: 'SYNCHRONISATION', payload: { login_number: 3 } } }]]);
    expect(b.frames).toEqual([]);
  });

  it('sends what a socket missed since `last` when it subscribes', async () => {
    const sim = await start();
    sim.notify('c', 'A', 1);
    sim.notify('c', 'B', 2);
    sim.notify('d', 'C', 3);
    const late = await connect(sim);
    subscribe(late.ws, ['c'], 1);
    await until(() => late.frames.length === 1, 'the missed notifications');
    expect(late.frames).toEqual([[{ id: 2, message: { type: 'B', payload: 2 } }]]);
    const fresh = await connect(sim);
    subscribe(fresh.ws, ['c', 'd']);
    await until(() => fresh.frames.length === 1, 'the recent notifications');
    expect((fresh.frames[0] as { id: number }[]).map((n) => n.id)).toEqual([1, 2, 3]);
  });

  it('counts open sockets, and closes them on close()', async () => {
    const sim = await start();
    const { ws } = await connect(sim);
    await until(() => sim.busConnections() === 1, 'the socket');
    const closed = once(ws, 'close');
    const done = await Promise.race([sim.close().then(() => 'closed'), sleep(5000, 'still open')]);
    expect(done).toBe('closed');
    await closed;
    expect(sim.busConnections()).toBe(0);
  });

  it('refuses upgrades on other paths', async () => {
    const sim = await start();
    const ws = new WebSocket(`${sim.url.replace('http', 'ws')}/longpolling/websocket`);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(res.statusCode).toBe(404);
    // Ending a refused handshake reports it as an error: expected here, not a test failure.
    ws.on('error', () => {});
    ws.terminate();
  });

  it('shows the behaviours on the upgrade: fail, drop, hang cut off by close()', async () => {
    const sim = await start();
    sim.setBehavior({ mode: 'fail', status: 503, count: 1 });
    const failed = new WebSocket(`${sim.url.replace('http', 'ws')}/websocket`);
    const [, res] = (await once(failed, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(res.statusCode).toBe(503);
    failed.on('error', () => {});
    failed.terminate();

    sim.setBehavior({ mode: 'drop-after-commit', count: 1 });
    const dropped = new WebSocket(`${sim.url.replace('http', 'ws')}/websocket`);
    await expect(once(dropped, 'open')).rejects.toThrow();

    sim.setBehavior({ mode: 'hang' });
    const hung = new WebSocket(`${sim.url.replace('http', 'ws')}/websocket`);
    hung.on('error', () => {});
    await until(() => sim.received() === 3, 'the hung upgrade to arrive');
    const done = await Promise.race([sim.close().then(() => 'closed'), sleep(5000, 'still open')]);
    expect(done).toBe('closed');
    expect(sim.busConnections()).toBe(0);
  });
});
