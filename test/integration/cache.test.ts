// Cache routes end to end: a real gateway, a real cache file, and an upstream
// that answers, fails, hangs, goes away, while the gateway restarts.
import { rmSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../edge-config/load.js';
import { startGateway, type RunningGateway } from '../../src/app/gateway.js';
import { createLogger } from '../../src/log.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/pos.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const TIMEOUT_MS = 1500;
/** Machines are noisy: timings are only asserted against the deadline plus this much. */
const SLACK_MS = 2000;

const ROUTES = `  - name: catalog
    match: { path: /catalog/** }
    class: interactive
    mode: cache
    timeoutMs: ${TIMEOUT_MS}
  - name: everything-else
    match: { path: /* }
    class: normal`;

/** What the fake ERP does with the next requests (probes included). */
let mode: 'ok' | 'fail' | 'hang' = 'ok';
let served = 0;

function erp(req: IncomingMessage, res: ServerResponse): void {
  if (mode === 'hang') return;
  if (mode === 'fail') {
    res.writeHead(503, { 'content-type': 'text/plain' }).end('ERP in maintenance');
    return;
  }
  req.resume();
  req.on('end', () => {
    served++;
    res.setHeader('content-type', 'application/json');
    if (req.url?.includes('nostore')) res.setHeader('cache-control', 'no-store');
    res.end(JSON.stringify({ method: req.method, url: req.url, n: served, cookie: req.headers.cookie ?? null }));
  });
}

let up: TestUpstream | undefined;
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  await up?.close();
  t = undefined;
  up = undefined;
  mode = 'ok';
});

async function call(g: { url: string }, path: string, opts: { method?: 'GET' | 'HEAD' | 'POST'; headers?: Record<string, string>; body?: string } = {}) {
  const started = performance.now();
  const res = await request(`${g.url}${path}`, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, body: opts.body ?? null });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, ms: performance.now() - started };
}

async function metrics(g: RunningGateway): Promise<string> {
  return (await request(`${g.adminUrl}/metrics`)).body.text();
}

async function pathState(g: RunningGateway): Promise<string> {
  const s = (await (await request(`${g.adminUrl}/v1/status`)).body.json()) as { paths: { state: string }[] };
  return s.paths[0]!.state;
}

describe('cache routes', () => {
  it('forwards a first read and keeps it; with the path DOWN serves it stale (HEAD too), and answers an uncached read 503 at once', async () => {
    up = await startUpstream(erp);
    const yaml = gatewayYaml(up.url, ROUTES, { extra: 'link: { downAfter: 2, upAfter: 3 }' }).replace(
      `baseUrl: ${up.url}`,
      `baseUrl: ${up.url}\n    probe: { url: "${up.url}/ping", intervalMs: 100, timeoutMs: 100 }`,
    );
    t = await startTestGateway(yaml);
    await eventually(async () => expect(await pathState(t!.gw)).toBe('up'));

    const first = await call(t.gw, '/catalog/products?page=1');
    expect(first.status).toBe(200);
    expect(first.headers['x-gateway-cache']).toBe('miss');
    expect(first.headers['x-gateway-path']).toBe('fiber');
    expect(JSON.parse(first.text)).toMatchObject({ url: '/catalog/products?page=1' });

    await up.close();
    await eventually(async () => expect(await pathState(t!.gw)).toBe('down'), 5000, 20);

    const stale = await call(t.gw, '/catalog/products?page=1');
    expect(stale.status).toBe(200);
    expect(stale.headers['x-gateway-cache']).toBe('stale');
    expect(Number(stale.headers.age)).toBeGreaterThanOrEqual(0);
    expect(stale.headers['content-type']).toBe('application/json');
    expect(stale.headers['x-gateway-path']).toBeUndefined();
    expect(stale.text).toBe(first.text);

    const head = await call(t.gw, '/catalog/products?page=1', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['x-gateway-cache']).toBe('stale');
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(first.text));
    expect(head.text).toBe('');

    const uncached = await call(t.gw, '/catalog/products?page=2');
    expect(uncached.status).toBe(503);
    expect(uncached.headers['retry-after']).toBeDefined();
    expect(uncached.headers['x-gateway-cache']).toBe('miss');
    expect(JSON.parse(uncached.text)).toMatchObject({ error: 'upstream_unavailable' });
    // The path was known DOWN: neither waited for the deadline.
    expect(stale.ms + uncached.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);

    const m = await metrics(t.gw);
    expect(m).toMatch(/storegw_cache_answers_total\{route="catalog",result="stale"\} 2/);
    expect(m).toMatch(/storegw_cache_answers_total\{route="catalog",result="miss"\} 2/);
    expect(m).toMatch(/storegw_requests_total\{route="catalog",class="interactive",outcome="stale"\} 2/);
  });

  it('serves the stale copy when the ERP answers 503 or does not answer in time; never one of a no-store answer', async () => {
    up = await startUpstream(erp);
    t = await startTestGateway(gatewayYaml(up.url, ROUTES));
    const kept = await call(t.gw, '/catalog/prices');
    expect(kept.headers['x-gateway-cache']).toBe('miss');
    const personal = await call(t.gw, '/catalog/nostore');
    expect(personal.status).toBe(200);
    expect(personal.headers['x-gateway-cache']).toBe('bypass');

    mode = 'fail';
    const failing = await call(t.gw, '/catalog/prices');
    expect(failing.status).toBe(200);
    expect(failing.headers['x-gateway-cache']).toBe('stale');
    expect(failing.text).toBe(kept.text);
    const notKept = await call(t.gw, '/catalog/nostore');
    expect(notKept.status).toBe(503);
    expect(notKept.text).toBe('ERP in maintenance');
    expect(notKept.headers['x-gateway-cache']).toBe('miss');

    mode = 'hang';
    const hanging = await call(t.gw, '/catalog/prices');
    expect(hanging.status).toBe(200);
    expect(hanging.headers['x-gateway-cache']).toBe('stale');
    expect(hanging.text).toBe(kept.text);
    expect(hanging.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    const nothing = await call(t.gw, '/catalog/never-seen');
    expect(nothing.status).toBe(504);
    expect(JSON.parse(nothing.text)).toMatchObject({ error: 'upstream_timeout' });
  });

  it('forwards other methods live and never keeps them; gives a session’s answers to that session only', async () => {
    up = await startUpstream(erp);
    t = await startTestGateway(gatewayYaml(up.url, ROUTES));
    const alice = { cookie: 'session_id=alice' };
    const mine = await call(t.gw, '/catalog/my-orders', { headers: alice });
    expect(mine.headers['x-gateway-cache']).toBe('miss');
    const post = await call(t.gw, '/catalog/search', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(post.status).toBe(200);
    expect(post.headers['x-gateway-cache']).toBe('bypass');
    expect(up.seen.map((s) => s.method)).toEqual(['GET', 'POST']);

    mode = 'fail';
    const again = await call(t.gw, '/catalog/my-orders', { headers: alice });
    expect(again.headers['x-gateway-cache']).toBe('stale');
    expect(JSON.parse(again.text)).toMatchObject({ cookie: 'session_id=alice' });
    expect((await call(t.gw, '/catalog/my-orders', { headers: { cookie: 'session_id=bob' } })).status).toBe(503);
    expect((await call(t.gw, '/catalog/my-orders')).status).toBe(503);
    const postAgain = await call(t.gw, '/catalog/search', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(postAgain.status).toBe(503);
    expect(postAgain.headers['x-gateway-cache']).toBe('bypass');
  });

  it('keeps JSON-RPC reads (search_read) by what they ask, answers them stale under the new request id, never keeps errors or writes', async () => {
    up = await startUpstream((req, res) => {
      if (mode === 'fail') return void res.writeHead(503).end();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        served++;
        const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { id?: unknown; params?: { method?: string } };
        res.setHeader('content-type', 'application/json');
        const answer = body.params?.method === 'search_count' ? { error: { message: 'Odoo Server Error' } } : { result: [{ id: 42, name: 'Espresso', n: served }] };
        res.end(JSON.stringify({ jsonrpc: '2.0', id: body.id, ...answer }));
      });
    });
    t = await startTestGateway(
      gatewayYaml(
        up.url,
        `  - name: catalog
    match: { method: POST, jsonrpc: { model: product.product } }
    class: interactive
    mode: cache
    timeoutMs: ${TIMEOUT_MS}`,
      ),
    );
    const rpc = (method: string, id: number, domain: unknown[] = [['sale_ok', '=', true]]) =>
      call(t!.gw, '/web/dataset/call_kw', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id, params: { model: 'product.product', method, args: [], kwargs: { domain } } }),
      });

    const first = await rpc('search_read', 1);
    expect(first.headers['x-gateway-cache']).toBe('miss');
    expect((await rpc('search_count', 2)).status).toBe(200);
    expect((await rpc('write', 3)).headers['x-gateway-cache']).toBe('bypass');

    mode = 'fail';
    const stale = await rpc('search_read', 99);
    expect(stale.status).toBe(200);
    expect(stale.headers['x-gateway-cache']).toBe('stale');
    expect(JSON.parse(stale.text)).toEqual({ ...(JSON.parse(first.text) as object), id: 99 });
    // Another question is another entry; an error answer was never kept; a write never is.
    expect((await rpc('search_read', 5, [['sale_ok', '=', false]])).status).toBe(503);
    expect((await rpc('search_count', 6)).status).toBe(503);
    expect((await rpc('write', 7)).status).toBe(503);
  });

  it('keeps its copies across a gateway restart, in a file only the gateway’s user may read', async () => {
    up = await startUpstream(erp);
    t = await startTestGateway(gatewayYaml(up.url, ROUTES));
    // The Host is part of the key (the ERP may answer per site): the restarted gateway listens on another port.
    const host = { host: 'storegw.store-test' };
    const first = await call(t.gw, '/catalog/stock?sku=4006381333931', { headers: host });
    expect(first.headers['x-gateway-cache']).toBe('miss');
    await t.gw.close();
    expect(statSync(join(t.dir, 'cache.db')).mode & 0o077).toBe(0);

    const { dir, configFile } = t;
    t = undefined;
    await up.close();
    up = undefined;
    const again = await startGateway(loadGatewayConfig(configFile), createLogger({ level: 'silent' }));
    try {
      const stale = await call(again, '/catalog/stock?sku=4006381333931', { headers: host });
      expect(stale.status).toBe(200);
      expect(stale.headers['x-gateway-cache']).toBe('stale');
      expect(Number(stale.headers.age)).toBeGreaterThanOrEqual(0);
      expect(stale.text).toBe(first.text);
    } finally {
      await again.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
