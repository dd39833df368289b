// Buffer routes end to end: a real gateway, a real journal file, the ERP
// simulator going down, coming back, failing, and committing before it drops
// the connection.
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually, posOrderBody, posOrdersRoute } from '../support/pos.js';

const ROUTES = `${posOrdersRoute(800)}
  - name: scans
    match: { method: POST, path: /scan }
    class: interactive
    mode: buffer
    dedupe: key
    timeoutMs: 800
    idempotencyKey: { header: Idempotency-Key }
    orderingKey: store
  - name: everything-else
    match: { path: /* }
    class: normal`;

const FAST_REPLAY = 'replay: { ratePerSec: 200, concurrency: 4, backoff: { baseMs: 20, maxMs: 200 }, maxServerErrorAttempts: 2 }';

let erp: ErpSimulator | undefined;
let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  await erp?.close();
  gw = undefined;
  erp = undefined;
});

async function sendOrder(url: string, uuid: string, headers: Record<string, string> = {}) {
  const res = await request(`${url}/web/dataset/call_kw/pos.order/sync_from_ui`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: posOrderBody(uuid),
  });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
}

async function queue(t: TestGateway, state: string) {
  const res = await request(`${t.gw.adminUrl}/v1/queue?state=${state}`);
  return ((await res.body.json()) as { entries: { receipt: string; state: string; lastError: string | null }[] }).entries;
}

describe('buffer routes', () => {
  it('delivers live when the ERP answers in time, with the idempotency key upstream', async () => {
    erp = await startErpSimulator();
    gw = await startTestGateway(gatewayYaml(erp.url, ROUTES, { extra: FAST_REPLAY }));
    const r = await sendOrder(gw.gw.url, 'order-live-1');
    expect(r.status).toBe(200);
    expect(r.headers['x-gateway-path']).toBe('fiber');
    expect(r.headers['x-gateway-receipt']).toMatch(/^[0-9a-f-]{36}$/);
    expect(erp.commits().map((c) => c.key)).toEqual(['order-live-1']);
    // The journal holds sessions and cookies: only the gateway's user may read it.
    expect(statSync(join(gw.dir, 'journal.db')).mode & 0o077).toBe(0);
  });

  it('through an outage: 202 with a receipt, then every order delivered once, in order per device', async () => {
    erp = await startErpSimulator();
    const port = erp.port;
    await erp.close();
    gw = await startTestGateway(
      gatewayYaml(`http://127.0.0.1:${port}`, ROUTES, {
        gateway: '  devices: { tokensFile: devices.yaml }',
        extra: FAST_REPLAY,
      }),
      { 'devices.yaml': 'pos-1: pos-token-000000000001\npos-2: pos-token-000000000002\n' },
    );
    const sent: { device: string; uuid: string; receipt: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const device = i % 2 === 0 ? 'pos-1' : 'pos-2';
      const uuid = `${device}-order-${i}`;
      const r = await sendOrder(gw.gw.url, uuid, { 'x-device-token': `pos-token-00000000000${device.slice(-1)}` });
      expect(r.status).toBe(202);
      expect(r.body).toEqual({ status: 'buffered', receipt: r.headers['x-gateway-receipt'], idempotencyKey: uuid });
      sent.push({ device, uuid, receipt: String(r.body.receipt) });
    }
    const receipt = await request(`${gw.gw.url}/_gateway/receipts/${sent[0]!.receipt}`, { headers: { 'x-device-token': 'pos-token-000000000001' } });
    expect(await receipt.body.json()).toMatchObject({ receipt: sent[0]!.receipt, state: 'pending' });

    erp = await startErpSimulator({ port });
    await eventually(async () => expect((await queue(gw!, 'pending')).length).toBe(0), 15_000);
    const commits = erp.commits();
    expect(commits.map((c) => c.key).sort()).toEqual(sent.map((s) => s.uuid).sort());
    for (const device of ['pos-1', 'pos-2']) {
      const order = commits.filter((c) => c.device === device).map((c) => c.key);
      expect(order).toEqual(sent.filter((s) => s.device === device).map((s) => s.uuid));
    }
    const delivered = await request(`${gw.gw.url}/_gateway/receipts/${sent[0]!.receipt}`, { headers: { 'x-device-token': 'pos-token-000000000001' } });
    expect(await delivered.body.json()).toMatchObject({ state: 'delivered', attempts: expect.any(Number), upstreamStatus: 200 });
  });

  it('while the ERP is failing, answers 202 at once instead of waiting for another failure', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'fail', status: 503 });
    gw = await startTestGateway(gatewayYaml(erp.url, ROUTES, { extra: FAST_REPLAY }));
    await request(`${gw.gw.adminUrl}/v1/replay/pause`, { method: 'POST' });
    const scan = (key: string) => request(`${gw!.gw.url}/scan`, { method: 'POST', headers: { 'idempotency-key': key }, body: 'EAN 4006381333931' });
    expect((await scan('scan-b1')).statusCode).toBe(202);
    const seen = erp.received();
    expect((await scan('scan-b2')).statusCode).toBe(202);
    expect(erp.received()).toBe(seen);
    // After the cool-off the next write (of another lane: the scans wait in theirs) tries live again, and delivers.
    erp.setBehavior({ mode: 'ok' });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await sendOrder(gw.gw.url, 'order-b3')).status).toBe(200);
  });

  it('answers the same key while pending with the same receipt, and after delivery with the stored answer', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'fail', status: 503 });
    gw = await startTestGateway(gatewayYaml(erp.url, ROUTES, { extra: FAST_REPLAY }));
    await request(`${gw.gw.adminUrl}/v1/replay/pause`, { method: 'POST' });
    const first = await sendOrder(gw.gw.url, 'order-dup');
    const second = await sendOrder(gw.gw.url, 'order-dup');
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.receipt).toBe(first.body.receipt);
    expect(await queue(gw, 'pending')).toHaveLength(1);

    erp.setBehavior({ mode: 'ok' });
    await request(`${gw.gw.adminUrl}/v1/replay/resume`, { method: 'POST' });
    await eventually(async () => expect((await queue(gw!, 'pending')).length).toBe(0));
    const again = await sendOrder(gw.gw.url, 'order-dup');
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['x-gateway-receipt']).toBe(first.body.receipt);
    expect(erp.commits().filter((c) => c.key === 'order-dup')).toHaveLength(1);
  });

  it('after an ambiguous failure (committed, then the connection dropped) the retry carries the same key: one order at the ERP', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'drop-after-commit', count: 1 });
    gw = await startTestGateway(gatewayYaml(erp.url, ROUTES, { extra: FAST_REPLAY }));
    const r = await sendOrder(gw.gw.url, 'order-ambiguous');
    expect(r.status).toBe(202);
    await eventually(async () => expect((await queue(gw!, 'pending')).length).toBe(0));
    expect(erp.commits().filter((c) => c.key === 'order-ambiguous')).toHaveLength(1);
    expect(erp.duplicates()).toBeGreaterThanOrEqual(1);
  });

  it('sends a permanent refusal to the dead letters, where an operator can retry or discard it', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'fail', status: 503 });
    gw = await startTestGateway(gatewayYaml(erp.url, ROUTES, { extra: FAST_REPLAY }));
    const r = await sendOrder(gw.gw.url, 'order-poison');
    expect(r.status).toBe(202);
    erp.setBehavior({ mode: 'fail', status: 422 });
    await eventually(async () => expect(await queue(gw!, 'dead')).toMatchObject([{ receipt: r.body.receipt, lastError: 'HTTP 422' }]));
    const metrics = await (await request(`${gw.gw.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/storegw_journal_dead 1/);
    expect(metrics).toMatch(/storegw_replay_attempts_total\{outcome="dead"\} 1/);

    const discardPending = await request(`${gw.gw.adminUrl}/v1/queue/${randomUUID()}`, { method: 'DELETE' });
    expect(discardPending.statusCode).toBe(404);
    await discardPending.body.dump();

    erp.setBehavior({ mode: 'ok' });
    const retry = await request(`${gw.gw.adminUrl}/v1/queue/${r.body.receipt}/retry`, { method: 'POST' });
    expect(retry.statusCode).toBe(200);
    await retry.body.dump();
    await eventually(async () => expect(erp!.commits().map((c) => c.key)).toContain('order-poison'));

    // A second poison message, discarded this time.
    erp.setBehavior({ mode: 'fail', status: 400 });
    const p2 = await request(`${gw.gw.url}/scan`, { method: 'POST', headers: { 'idempotency-key': 'scan-1' }, body: 'EAN 4006381333931' });
    expect(p2.statusCode).toBe(400);
    const receipt = p2.headers['x-gateway-receipt'] as string;
    await p2.body.dump();
    expect(await queue(gw, 'dead')).toMatchObject([{ receipt }]);
    const gone = await request(`${gw.gw.adminUrl}/v1/queue/${receipt}`, { method: 'DELETE' });
    expect(gone.statusCode).toBe(200);
    await gone.body.dump();
    expect(await queue(gw, 'dead')).toEqual([]);
  });

  it('gives up on a repeated 500 after maxServerErrorAttempts', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'fail', status: 500 });
    gw = await startTestGateway(gatewayYaml(erp.url, ROUTES, { extra: FAST_REPLAY }));
    const r = await sendOrder(gw.gw.url, 'order-500');
    expect(r.status).toBe(202);
    await eventually(async () => expect(await queue(gw!, 'dead')).toMatchObject([{ receipt: r.body.receipt, lastError: 'HTTP 500 after 2 attempts' }]));
    expect(erp.commits()).toEqual([]);
  });

  it('answers 507 when the journal quota is reached, and stores nothing', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'fail', status: 503 });
    gw = await startTestGateway(gatewayYaml(erp.url, ROUTES, { extra: FAST_REPLAY, buffer: '{ path: ./journal.db, maxBytes: 3000 }' }));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await sendOrder(gw.gw.url, `order-q-${i}`)).status);
    expect(statuses).toContain(507);
    expect(statuses.indexOf(507)).toBeGreaterThan(0);
    const stored = statuses.filter((s) => s === 202).length;
    const status = (await (await request(`${gw.gw.adminUrl}/v1/status`)).body.json()) as { queue: { pending: number } };
    expect(status.queue.pending).toBe(stored);
  });

  it('holds replay while paused and drains at the configured rate after resume', async () => {
    erp = await startErpSimulator();
    erp.setBehavior({ mode: 'fail', status: 503 });
    gw = await startTestGateway(gatewayYaml(erp.url, ROUTES, { extra: FAST_REPLAY }));
    await request(`${gw.gw.adminUrl}/v1/replay/pause`, { method: 'POST' });
    for (let i = 0; i < 10; i++) expect((await sendOrder(gw.gw.url, `order-r-${i}`)).status).toBe(202);
    erp.setBehavior({ mode: 'ok' });
    await new Promise((r) => setTimeout(r, 500));
    expect(erp.commits()).toEqual([]);

    const rate = await request(`${gw.gw.adminUrl}/v1/replay/rate`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ratePerSec: 4 }) });
    expect(await rate.body.json()).toMatchObject({ ratePerSec: 4, paused: true });
    const bad = await request(`${gw.gw.adminUrl}/v1/replay/rate`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ratePerSec: -1 }) });
    expect(bad.statusCode).toBe(400);
    await bad.body.dump();

    await request(`${gw.gw.adminUrl}/v1/replay/resume`, { method: 'POST' });
    await eventually(async () => expect(erp!.commits()).toHaveLength(10), 20_000);
    const times = erp.commits().map((c) => c.receivedAt);
    // 10 deliveries at 4/s, with at most one second's worth (4) in hand at resume: at least 1.5 s from first to last
    // (unlimited, the same drain takes a few milliseconds).
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(1400);
  });
});
