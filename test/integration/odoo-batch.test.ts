// Odoo POS pushes through a real gateway to the Odoo-like simulator: every
// order of a batch journaled and delivered once under its own key, whether the
// batch comes whole, again or grown; the answers the real client reads right;
// requests without a usable key refused with nothing stored or sent.
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator, type OdooProfile } from '../../src/sim/erp-simulator.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/pos.js';

const FAST_REPLAY = 'replay: { ratePerSec: 200, concurrency: 4, backoff: { baseMs: 20, maxMs: 200 }, maxServerErrorAttempts: 2 }';

function posRoute(method: 'sync_from_ui' | 'create_from_ui', heldAnswer: string): string {
  const key = method === 'sync_from_ui' ? 'params.args[0][*].uuid' : 'params.args[0][*].data.name';
  return `  - name: pos-orders
    match: { method: POST, jsonrpc: { model: pos.order, method: ${method} } }
    class: critical
    mode: buffer
    timeoutMs: 800
    idempotencyKey: { jsonPath: "${key}" }
    dedupe: natural
    heldAnswer: ${heldAnswer}
  - name: everything-else
    match: { path: /* }
    class: normal`;
}

const order18 = (uuid: string) => ({ uuid, pos_reference: `Order ${uuid}`, amount_total: 10, lines: [[0, 0, { product_id: 1, qty: 1, price_unit: 10 }]] });
const order17 = (uid: string) => ({ id: uid, data: { name: `Order ${uid}`, uid, amount_total: 10, lines: [[0, 0, { product_id: 1, qty: 1, price_unit: 10 }]], statement_ids: [] }, to_invoice: false });

function push(url: string, method: 'sync_from_ui' | 'create_from_ui', orders: unknown[], id = 1) {
  const args = method === 'sync_from_ui' ? [orders] : [orders, false];
  return request(`${url}/web/dataset/call_kw/pos.order/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id, params: { model: 'pos.order', method, args, kwargs: { context: {} } } }),
  });
}

async function status(t: TestGateway) {
  return ((await (await request(`${t.gw.adminUrl}/v1/status`)).body.json()) as { queue: { pending: number; delivered: number } }).queue;
}

let erp: ErpSimulator | undefined;
let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  await erp?.close();
  gw = erp = undefined;
});

/** The ERP's port, closed: an outage the gateway sees as connection refused. */
async function downErp(profile: OdooProfile): Promise<number> {
  const probe = await startErpSimulator({ profile });
  await probe.close();
  return probe.port;
}

describe('Odoo POS batches through the gateway', () => {
  it('18: a batch that grows while the ERP is down is journaled order by order; the re-sent batch is answered as Odoo would, each order once', async () => {
    const port = await downErp('odoo-18');
    gw = await startTestGateway(gatewayYaml(`http://127.0.0.1:${port}`, posRoute('sync_from_ui', 'offline'), { extra: FAST_REPLAY }));

    const first = await push(gw.gw.url, 'sync_from_ui', [order18('a')]);
    // Held: the web client must read a lost connection, and keep the order.
    expect(first.statusCode).toBe(502);
    expect(first.headers['content-type']).toMatch(/^text\/plain/);
    await first.body.dump();
    const grown = await push(gw.gw.url, 'sync_from_ui', [order18('a'), order18('b'), order18('c')]);
    expect(grown.statusCode).toBe(502);
    await grown.body.dump();
    expect((await status(gw)).pending).toBe(3);

    erp = await startErpSimulator({ port, profile: 'odoo-18' });
    await eventually(async () => expect((await status(gw!)).pending).toBe(0), 15_000);
    expect(erp.commits().map((c) => c.uuid)).toEqual(['a', 'b', 'c']);

    // The till sends its pending orders again: one answer for the call, with every order's server id.
    const again = await push(gw.gw.url, 'sync_from_ui', [order18('a'), order18('b'), order18('c')], 7);
    expect(again.statusCode).toBe(200);
    const body = (await again.body.json()) as { id: number; result: Record<string, { id: number; uuid: string }[]> };
    expect(body.id).toBe(7);
    expect(body.result['pos.order']!.map((o) => [o.uuid, typeof o.id])).toEqual([
      ['a', 'number'],
      ['b', 'number'],
      ['c', 'number'],
    ]);
    expect(Object.keys(body.result)).toEqual(expect.arrayContaining(['pos.session', 'pos.order.line', 'pos.payment']));
    expect(erp.commits()).toHaveLength(3);
  });

  it('17: orders keyed by pos_reference, delivered live in one call: the list Odoo answers, each order once even when sent again', async () => {
    erp = await startErpSimulator({ profile: 'odoo-17' });
    gw = await startTestGateway(gatewayYaml(erp.url, posRoute('create_from_ui', 'offline'), { extra: FAST_REPLAY }));
    const r = await push(gw.gw.url, 'create_from_ui', [order17('00001-001-0001'), order17('00001-001-0002')], 3);
    expect(r.statusCode).toBe(200);
    const body = (await r.body.json()) as { id: number; result: { id: number; pos_reference: string }[] };
    expect(body.id).toBe(3);
    expect(body.result.map((o) => o.pos_reference).sort()).toEqual(['Order 00001-001-0001', 'Order 00001-001-0002']);
    // At start the till sends every order it still holds: the gateway answers from the journal, Odoo sees nothing twice.
    const again = await push(gw.gw.url, 'create_from_ui', [order17('00001-001-0001'), order17('00001-001-0002'), order17('00001-001-0003')]);
    expect(again.statusCode).toBe(200);
    expect(((await again.body.json()) as { result: unknown[] }).result).toHaveLength(3);
    expect(erp.commits().map((c) => c.posReference).sort()).toEqual(['Order 00001-001-0001', 'Order 00001-001-0002', 'Order 00001-001-0003']);
  });

  it('answers a held push with the result shape the version reads: odoo-list and odoo-dict', async () => {
    const port = await downErp('odoo-17');
    gw = await startTestGateway(gatewayYaml(`http://127.0.0.1:${port}`, posRoute('create_from_ui', 'odoo-list'), { extra: FAST_REPLAY }));
    const list = await push(gw.gw.url, 'create_from_ui', [order17('00002-001-0001')], 5);
    expect(list.statusCode).toBe(200);
    expect(await list.body.json()).toEqual({ jsonrpc: '2.0', id: 5, result: [] });
    await gw.close();

    gw = await startTestGateway(gatewayYaml(`http://127.0.0.1:${port}`, posRoute('sync_from_ui', 'odoo-dict'), { extra: FAST_REPLAY }));
    const dict = await push(gw.gw.url, 'sync_from_ui', [order18('held-1')], 6);
    expect(dict.statusCode).toBe(200);
    const result = ((await dict.body.json()) as { result: Record<string, unknown[]> }).result;
    expect(result['pos.order']).toEqual([]);
    expect(result['pos.order.line']).toEqual([]);
  });

  it('passes on Odoo\'s refusal of a lone bad order, and answers a batch with its good orders when one is refused', async () => {
    erp = await startErpSimulator({ profile: 'odoo-18' });
    gw = await startTestGateway(gatewayYaml(erp.url, posRoute('sync_from_ui', 'offline'), { extra: FAST_REPLAY }));
    const bad = { ...order18('bad'), _sim_fail: true };
    const lone = await push(gw.gw.url, 'sync_from_ui', [bad], 2);
    expect(lone.statusCode).toBe(200);
    expect(((await lone.body.json()) as { id: number; error?: unknown }).error).toBeDefined();

    const mixed = await push(gw.gw.url, 'sync_from_ui', [order18('good-1'), { ...order18('bad-2'), _sim_fail: true }]);
    expect(mixed.statusCode).toBe(200);
    const body = (await mixed.body.json()) as { result: Record<string, { uuid: string }[]> };
    expect(body.result['pos.order']!.map((o) => o.uuid)).toEqual(['good-1']);
    expect(erp.commits().map((c) => c.uuid)).toEqual(['good-1']);
  });

  describe('a keyed route refuses a request without a usable key: nothing journaled, nothing forwarded', () => {
    const bodies: [string, string][] = [
      ['no uuid', JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { model: 'pos.order', method: 'sync_from_ui', args: [[{ amount_total: 1 }]] } })],
      ['a null uuid', JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { model: 'pos.order', method: 'sync_from_ui', args: [[{ uuid: null }]] } })],
      ['an object for a uuid', JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { model: 'pos.order', method: 'sync_from_ui', args: [[{ uuid: { a: 1 } }]] } })],
      ['an empty batch', JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { model: 'pos.order', method: 'sync_from_ui', args: [[]] } })],
      ['one good and one keyless order', JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { model: 'pos.order', method: 'sync_from_ui', args: [[{ uuid: 'ok-1' }, { uuid: '' }]] } })],
    ];
    it.each(bodies)('%s: 400 missing_key', async (_name, body) => {
      erp ??= await startErpSimulator({ profile: 'odoo-18' });
      gw ??= await startTestGateway(gatewayYaml(erp.url, posRoute('sync_from_ui', 'offline'), { extra: FAST_REPLAY }));
      const seen = erp.received();
      const r = await request(`${gw.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(r.statusCode).toBe(400);
      expect(await r.body.json()).toMatchObject({ error: 'missing_key', message: expect.stringMatching(/nothing was stored or forwarded/) });
      expect(erp.received()).toBe(seen);
      expect(await status(gw)).toMatchObject({ pending: 0, delivered: 0 });
    });

    it('a scanner save without its Idempotency-Key header, and a body that is not JSON on a body-keyed route', async () => {
      erp = await startErpSimulator({ profile: 'odoo-18' });
      gw = await startTestGateway(
        gatewayYaml(
          erp.url,
          `  - name: saves
    match: { method: POST, path: /stock_barcode/save_barcode_data }
    class: interactive
    mode: buffer
    idempotencyKey: { header: Idempotency-Key }
    dedupe: none
  - name: keyed-by-body
    match: { method: POST, path: /x/orders }
    class: critical
    mode: buffer
    idempotencyKey: { jsonPath: "order.ref" }
    dedupe: key`,
          { extra: FAST_REPLAY },
        ),
      );
      const save = await request(`${gw.gw.url}/stock_barcode/save_barcode_data`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"params":{}}' });
      expect(save.statusCode).toBe(400);
      expect(((await save.body.json()) as { message: string }).message).toMatch(/Idempotency-Key header: found nothing/);
      const garbled = await request(`${gw.gw.url}/x/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order": {"ref": "x"' });
      expect(garbled.statusCode).toBe(400);
      expect(((await garbled.body.json()) as { message: string }).message).toMatch(/not JSON/);
      expect(erp.received()).toBe(0);
      expect(await status(gw)).toMatchObject({ pending: 0 });
    });
  });
});
