// The scheduler end to end: one path to an upstream that serves slowly, a
// flood of bulk requests, and a trickle of checkouts that must not wait
// behind it; past a class's maxQueueMs a request is journaled or refused.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/pos.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/** An ERP that takes 100 ms per request. */
function slow(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.on('end', () => setTimeout(() => res.end(JSON.stringify({ url: req.url })), 100));
}

let up: TestUpstream | undefined;
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  await up?.close();
  t = undefined;
  up = undefined;
});

const ROUTES = `  - name: checkout
    match: { method: POST, path: /checkout/* }
    class: critical
    timeoutMs: 20000
  - name: images
    match: { method: GET, path: /images/* }
    class: bulk
    timeoutMs: 60000
  - name: stock-import
    match: { method: POST, path: /import/* }
    class: normal
    mode: buffer
    dedupe: key
    timeoutMs: 20000
    idempotencyKey: { header: Idempotency-Key }
  - name: reports
    match: { method: GET, path: /reports/* }
    class: normal
    timeoutMs: 20000`;

function withPath(yaml: string, extra: string): string {
  return yaml.replace(/(baseUrl: .*)/, `$1\n    ${extra}`);
}

describe('scheduler', () => {
  it('serves checkouts ahead of a bulk flood on a busy path, and the flood still completes', async () => {
    up = await startUpstream(slow);
    t = await startTestGateway(withPath(gatewayYaml(up.url, ROUTES, { extra: 'classes: { bulk: { maxQueueMs: 60000 } }' }), 'maxInFlight: 4'));

    const flood = Array.from({ length: 60 }, (_, i) => request(`${t!.gw.url}/images/${i}`).then(async (r) => (await r.body.dump(), r.statusCode)));
    // The flood holds the three shared slots and queues the rest.
    await eventually(() => expect(up!.seen.length).toBeGreaterThanOrEqual(3));
    const checkouts = await Promise.all(
      Array.from({ length: 5 }, (_, i) => request(`${t!.gw.url}/checkout/${i}`, { method: 'POST', body: '{}' }).then(async (r) => (await r.body.dump(), r.statusCode))),
    );
    expect(checkouts).toEqual([200, 200, 200, 200, 200]);
    // Every checkout reached the ERP before most of the flood that was queued ahead of it.
    const order = up.seen.map((s) => s.url);
    const lastCheckout = Math.max(...order.map((u, i) => (u.startsWith('/checkout/') ? i : -1)));
    expect(lastCheckout).toBeLessThan(20);
    expect(await Promise.all(flood)).toEqual(Array(60).fill(200));

    const metrics = await (await request(`${t.gw.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/storegw_scheduler_wait_seconds_count\{class="bulk"\} 60/);
    expect(metrics).toMatch(/storegw_scheduler_queue_depth\{path="fiber",class="bulk"\} 0/);
  });

  it('past maxQueueMs: a buffer route journals (202), a passthrough route answers 503 overloaded', async () => {
    // Images are held until the test lets them go: the one shared slot stays taken.
    let letGo!: () => void;
    const gate = new Promise<void>((r) => (letGo = r));
    up = await startUpstream((req, res) => (req.url?.startsWith('/images/') ? void gate.then(() => slow(req, res)) : slow(req, res)));
    t = await startTestGateway(
      withPath(gatewayYaml(up.url, ROUTES, { extra: 'classes: { normal: { maxQueueMs: 50 }, bulk: { maxQueueMs: 60000 } }' }), 'maxInFlight: 2\n    reservedCritical: 1'),
    );
    const flood = Array.from({ length: 10 }, (_, i) => request(`${t!.gw.url}/images/${i}`).then(async (r) => (await r.body.dump(), r.statusCode)));
    await eventually(() => expect(up!.seen.length).toBeGreaterThanOrEqual(1));

    const report = await request(`${t.gw.url}/reports/daily`);
    expect(report.statusCode).toBe(503);
    expect(report.headers['retry-after']).toBeDefined();
    expect(await report.body.json()).toMatchObject({ error: 'overloaded' });

    const imported = await request(`${t.gw.url}/import/1`, { method: 'POST', headers: { 'idempotency-key': 'import-1' }, body: '{"lines":3}' });
    expect(imported.statusCode).toBe(202);
    await imported.body.dump();
    // The journaled import is delivered once the path has room.
    letGo();
    await eventually(() => expect(up!.seen.map((s) => s.url)).toContain('/import/1'), 20_000);
    expect(await Promise.all(flood)).toEqual(Array(10).fill(200));

    const metrics = await (await request(`${t.gw.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/storegw_scheduler_shed_total\{class="normal",kind="live"\} 2/);
    expect(metrics).toMatch(/storegw_requests_total\{route="reports",class="normal",outcome="overloaded"\} 1/);
  });
});
