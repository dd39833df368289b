// Writes to an ERP that does not dedupe (Odoo picking validation), through a
// real gateway to the Odoo-like simulator: an attempt whose answer was lost is
// held as unknown, never sent again blindly, and settled by the route's
// read-back or by an operator; an attempt that provably sent nothing is retried.
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/pos.js';

const FAST_REPLAY = 'replay: { ratePerSec: 200, concurrency: 4, backoff: { baseMs: 20, maxMs: 200 }, maxServerErrorAttempts: 2 }';

function routes(check: boolean, afterMs = 200): string {
  return `  - name: picking-validate
    match: { method: POST, jsonrpc: { model: stock.picking, method: button_validate } }
    class: interactive
    mode: buffer
    timeoutMs: 1000
    idempotencyKey: { header: Idempotency-Key }
    dedupe: none${check ? `\n    check: { model: stock.picking, domain: [[id, "=", "$.params.args[0][0]"], [state, "=", done]], afterMs: ${afterMs}, everyMs: 200 }` : ''}
  - name: everything-else
    match: { path: /* }
    class: normal`;
}

const validate = (url: string, picking: number, key: string) =>
  request(`${url}/web/dataset/call_kw/stock.picking/button_validate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { model: 'stock.picking', method: 'button_validate', args: [[picking]], kwargs: {} } }),
  });

type Entry = { receipt: string; state: string; settledBy: string | null; settledAt: number | null; lastError: string | null };
async function entries(t: TestGateway, state: string): Promise<Entry[]> {
  return ((await (await request(`${t.gw.adminUrl}/v1/queue?state=${state}`)).body.json()) as { entries: Entry[] }).entries;
}
const validations = (erp: ErpSimulator, picking: number) => erp.commits().filter((c) => c.model === 'stock.picking' && c.recordId === picking).length;

let erp: ErpSimulator | undefined;
let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  await erp?.close();
  gw = erp = undefined;
});

describe('unknown outcomes', () => {
  it('an answer lost after the commit: held as unknown, then the read-back finds the picking done — delivered, validated once', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'drop-after-commit', count: 1, pathPrefix: '/web/dataset/call_kw/stock.picking/button_validate' });
    gw = await startTestGateway(gatewayYaml(erp.url, routes(true), { extra: FAST_REPLAY }));
    const r = await validate(gw.gw.url, 7001, 'validate-7001');
    expect(r.statusCode).toBe(202);
    const { receipt } = (await r.body.json()) as { receipt: string };
    await eventually(async () => expect(await entries(gw!, 'delivered')).toMatchObject([{ receipt, settledBy: 'read-back check' }]), 5000);
    expect(validations(erp, 7001)).toBe(1);
    const metrics = await (await request(`${gw.gw.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/storegw_replay_attempts_total\{outcome="unknown"\} 1/);
    expect(gw.logs()).toMatch(/read-back: the write is at the ERP; delivered/);
  });

  it('a connection dropped before the commit: the read-back finds nothing, the validation is sent again and lands once', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'drop-before-commit', count: 1, pathPrefix: '/web/dataset/call_kw/stock.picking/button_validate' });
    gw = await startTestGateway(gatewayYaml(erp.url, routes(true), { extra: FAST_REPLAY }));
    const r = await validate(gw.gw.url, 7002, 'validate-7002');
    expect(r.statusCode).toBe(202);
    await eventually(async () => expect(validations(erp!, 7002)).toBe(1), 5000);
    await eventually(async () => expect(await entries(gw!, 'delivered')).toMatchObject([{ settledBy: 'read-back check' }]), 5000);
    expect(gw.logs()).toMatch(/read-back: the write is not at the ERP; sent again/);
  });

  it('without a read-back, waits for an operator: never sent again by itself; settled with who and when; a re-send is answered from the settlement', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'drop-after-commit', count: 1, pathPrefix: '/web/dataset/call_kw/stock.picking/button_validate' });
    gw = await startTestGateway(gatewayYaml(erp.url, routes(false), { extra: FAST_REPLAY }));
    const r = await validate(gw.gw.url, 7003, 'validate-7003');
    expect(r.statusCode).toBe(202);
    const { receipt } = (await r.body.json()) as { receipt: string };
    await eventually(async () => expect(await entries(gw!, 'unknown')).toMatchObject([{ receipt, lastError: expect.stringMatching(/may have reached the ERP/) }]));
    const status = (await (await request(`${gw.gw.adminUrl}/v1/status`)).body.json()) as { queue: { unknown: number; pending: number } };
    expect(status.queue).toMatchObject({ unknown: 1, pending: 0 });
    // The scanner sends it again: still held, nothing reaches the ERP.
    const seen = erp.received();
    const again = await validate(gw.gw.url, 7003, 'validate-7003');
    expect(again.statusCode).toBe(202);
    await again.body.dump();
    await new Promise((r) => setTimeout(r, 500));
    expect(erp.received()).toBe(seen);

    const wrongState = await request(`${gw.gw.adminUrl}/v1/queue/${receipt}/retry`, { method: 'POST' });
    expect(wrongState.statusCode).toBe(409);
    await wrongState.body.dump();
    const noWho = await request(`${gw.gw.adminUrl}/v1/queue/${receipt}/settle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"as":"delivered"}' });
    expect(noWho.statusCode).toBe(400);
    await noWho.body.dump();
    const before = Date.now();
    const settle = await request(`${gw.gw.adminUrl}/v1/queue/${receipt}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ as: 'delivered', by: 'ops:alice' }),
    });
    expect(await settle.body.json()).toEqual({ receipt, state: 'delivered', settledBy: 'ops:alice' });
    const [done] = await entries(gw, 'delivered');
    expect(done).toMatchObject({ receipt, settledBy: 'ops:alice' });
    expect(done!.settledAt).toBeGreaterThanOrEqual(before);
    const twice = await request(`${gw.gw.adminUrl}/v1/queue/${receipt}/settle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ as: 'retry', by: 'ops:bob' }) });
    expect(twice.statusCode).toBe(409);
    await twice.body.dump();

    const answered = await validate(gw.gw.url, 7003, 'validate-7003');
    expect(answered.statusCode).toBe(200);
    expect(answered.headers['x-gateway-settled-by']).toBe('ops:alice');
    await answered.body.dump();
    expect(validations(erp, 7003)).toBe(1);
  });

  it('an operator who found it not done sends it again: validated once', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'drop-before-commit', count: 1, pathPrefix: '/web/dataset/call_kw/stock.picking/button_validate' });
    gw = await startTestGateway(gatewayYaml(erp.url, routes(false), { extra: FAST_REPLAY }));
    const r = await validate(gw.gw.url, 7004, 'validate-7004');
    const { receipt } = (await r.body.json()) as { receipt: string };
    await eventually(async () => expect(await entries(gw!, 'unknown')).toHaveLength(1));
    await request(`${gw.gw.adminUrl}/v1/queue/${receipt}/settle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ as: 'retry', by: 'ops:carol' }) });
    await eventually(async () => expect(validations(erp!, 7004)).toBe(1));
    await eventually(async () => expect(await entries(gw!, 'delivered')).toMatchObject([{ receipt, settledBy: 'ops:carol' }]));
  });

  it('a resend refused as already done, after an attempt that landed unseen: read back, delivered, not a dead letter', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'drop-after-commit', count: 1, pathPrefix: '/web/dataset/call_kw/stock.picking/button_validate' });
    // The route's own read-back waits a minute: an operator's mistaken word ("not done") comes first, as a
    // copy delayed on a cut link would land after a read-back had found nothing.
    gw = await startTestGateway(gatewayYaml(erp.url, routes(true, 60_000), { extra: FAST_REPLAY }));
    const r = await validate(gw.gw.url, 7006, 'validate-7006');
    const { receipt } = (await r.body.json()) as { receipt: string };
    await eventually(async () => expect(await entries(gw!, 'unknown')).toHaveLength(1));
    await request(`${gw.gw.adminUrl}/v1/queue/${receipt}/settle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ as: 'retry', by: 'ops:dave' }) });
    await eventually(async () => expect(await entries(gw!, 'delivered')).toMatchObject([{ receipt }]), 5000);
    expect(await entries(gw, 'dead')).toEqual([]);
    expect(validations(erp, 7006)).toBe(1);
    expect(gw.logs()).toMatch(/a refused write is at the ERP from an earlier attempt; delivered/);
    const answered = await validate(gw.gw.url, 7006, 'validate-7006');
    expect(answered.headers['x-gateway-settled-by']).toBe('read-back check');
    await answered.body.dump();
  });

  it('a refusal on a first attempt stands without a read-back: a dead letter', async () => {
    erp = await startErpSimulator();
    gw = await startTestGateway(gatewayYaml(erp.url, routes(true), { extra: FAST_REPLAY }));
    // Done behind the gateway's back (at the ERP's own screen): the gateway's only attempt is refused.
    const direct = await validate(erp.url, 7007, 'direct-7007');
    await direct.body.dump();
    const r = await validate(gw.gw.url, 7007, 'validate-7007');
    await r.body.dump();
    await eventually(async () => expect(await entries(gw!, 'dead')).toMatchObject([{ lastError: expect.stringMatching(/already done/) }]), 5000);
    expect(gw.logs()).not.toMatch(/a refused write is at the ERP/);
  });

  it('an ERP that refused the connection got nothing: retried, never unknown', async () => {
    const probe = await startErpSimulator();
    await probe.close();
    gw = await startTestGateway(gatewayYaml(`http://127.0.0.1:${probe.port}`, routes(false), { extra: FAST_REPLAY }));
    const r = await validate(gw.gw.url, 7005, 'validate-7005');
    expect(r.statusCode).toBe(202);
    await r.body.dump();
    await new Promise((res) => setTimeout(res, 400));
    expect(await entries(gw, 'unknown')).toEqual([]);
    expect(await entries(gw, 'pending')).toHaveLength(1);
    erp = await startErpSimulator({ port: probe.port });
    await eventually(async () => expect(validations(erp!, 7005)).toBe(1), 5000);
  });

  it('a new entry being tried live is never also sent by replay: many saves at once, each move line once', async () => {
    erp = await startErpSimulator();
    // Every answer a little late: live tries overlap replay's picks.
    erp.setBehavior({ mode: 'slow', delayMs: 30 });
    gw = await startTestGateway(
      gatewayYaml(
        erp.url,
        `  - name: saves
    match: { method: POST, path: /stock_barcode/save_barcode_data }
    class: interactive
    mode: buffer
    timeoutMs: 2000
    idempotencyKey: { header: Idempotency-Key }
    dedupe: none
    orderingKey: none`,
        { extra: 'replay: { ratePerSec: 1000, concurrency: 16, backoff: { baseMs: 5, maxMs: 20 } }' },
      ),
    );
    const save = (n: number) =>
      request(`${gw!.gw.url}/stock_barcode/save_barcode_data`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `save-${n}` },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: n, params: { model: 'stock.picking', res_id: 9000 + (n % 7), write_field: 'move_line_ids', write_vals: [[0, 0, { dummy_id: `line-${n}`, product_id: 1, qty_done: 1 }]] } }),
      }).then((r) => r.body.dump());
    for (let round = 0; round < 6; round++) await Promise.all(Array.from({ length: 40 }, (_, i) => save(round * 40 + i)));
    await eventually(async () => expect((await entries(gw!, 'pending')).length).toBe(0), 10_000);
    const lines = erp.commits().filter((c) => c.model === 'stock.move.line');
    const seen = new Map<string, number>();
    for (const c of lines) seen.set(c.uuid ?? '', (seen.get(c.uuid ?? '') ?? 0) + 1);
    expect([...seen].filter(([, n]) => n > 1).map(([uuid, n]) => `${uuid} x${n}`)).toEqual([]);
    expect(lines).toHaveLength(240);
  });
});
