// The gateway forwarding real requests over loopback sockets.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { rawExchange, startUpstream, type TestUpstream } from '../support/upstream.js';

const ROUTES = `  - name: pos-orders
    match: { method: POST, jsonrpc: { model: pos.order, method: sync_from_ui } }
    class: critical
    timeoutMs: 500
  - name: uploads
    match: { path: /upload }
    class: bulk
    timeoutMs: 5000
  - name: slow
    match: { path: /slow }
    class: normal
    timeoutMs: 300
  - name: web
    match: { path: /web/* }
    class: normal`;

describe('forwarding', () => {
  let upstream: TestUpstream;
  let t: TestGateway;
  let gateHeld: (() => void) | undefined;
  let uploadFirstChunk: (() => void) | undefined;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      req.url = req.url?.replace(/^\/erp-base/, '');
      if (req.url === '/slow') return; // never answers
      if (req.url === '/upload') {
        const hash = createHash('sha256');
        let bytes = 0;
        req.on('data', (c: Buffer) => {
          if (bytes === 0) uploadFirstChunk?.();
          bytes += c.length;
          hash.update(c);
        });
        req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
        return;
      }
      if (req.url === '/web/download') {
        // The first chunk goes out, the rest only once the test has seen it
        // arrive through the gateway: a gateway that held the body would hang.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(50 * 2 ** 20) });
        res.write(Buffer.alloc(2 ** 20, 1));
        gateHeld = () => {
          const chunk = Buffer.alloc(2 ** 20, 2);
          let i = 1;
          const more = () => {
            while (i < 50) {
              i++;
              if (!res.write(chunk)) return void res.once('drain', more);
            }
            res.end();
          };
          more();
        };
        return;
      }
      if (req.url?.startsWith('/web/dataset') || req.url === '/jsonrpc') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c));
        req.on('end', () => {
          res.setHeader('content-type', 'application/json');
          res.setHeader('connection', 'keep-alive, x-upstream-hop');
          res.setHeader('x-upstream-hop', 'must not reach the client');
          res.setHeader('x-erp', 'odoo');
          res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { echoed: JSON.parse(body), headers: req.headers } }));
        });
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
    t = await startTestGateway(gatewayYaml(upstream.url + '/erp-base/', ROUTES));
  });

  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  const posOrder = {
    jsonrpc: '2.0',
    method: 'call',
    params: { model: 'pos.order', method: 'sync_from_ui', args: [[{ uuid: 'order-1', amount_total: 12.5 }]], kwargs: {} },
  };

  it('forwards a JSON-RPC call under the base path, with the upstream answer and X-Gateway-Path', async () => {
    const res = await request(`${t.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', host: 'pos-gateway.store' },
      body: JSON.stringify(posOrder),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-gateway-path']).toBe('fiber');
    expect(res.headers['x-erp']).toBe('odoo');
    expect(res.headers['x-upstream-hop']).toBeUndefined();
    expect(res.headers['x-request-id']).toMatch(/.+/);
    const body = (await res.body.json()) as { result: { echoed: unknown; headers: Record<string, string> } };
    expect(body.result.echoed).toEqual(posOrder);
    const h = body.result.headers;
    expect(h.host).toBe(new URL(upstream.url).host);
    expect(h['x-forwarded-host']).toBe('pos-gateway.store');
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-store-id']).toBe('store-test');
    expect(upstream.seen.at(-1)?.url).toBe('/erp-base/web/dataset/call_kw/pos.order/sync_from_ui');
  });

  it('drops the hop-by-hop headers a client names in Connection (raw request, so no client library rewrites them)', async () => {
    const answer = await rawExchange(
      t.gw.url,
      'GET /web/hop HTTP/1.1\r\nHost: gw\r\nConnection: close, X-Client-Hop\r\nX-Client-Hop: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nX-End-To-End: kept\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    const seen = upstream.seen.at(-1)!;
    expect(seen.url).toBe('/erp-base/web/hop');
    expect(seen.headers['x-client-hop']).toBeUndefined();
    expect(seen.headers['keep-alive']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(seen.headers['x-end-to-end']).toBe('kept');
  });

  it('keeps a client request id and the query string', async () => {
    const res = await request(`${t.gw.url}/web/page?a=1&b=%20`, { headers: { 'x-request-id': 'pos-7-000123' } });
    expect(res.headers['x-request-id']).toBe('pos-7-000123');
    const body = (await res.body.json()) as { url: string; headers: Record<string, string> };
    expect(upstream.seen.at(-1)?.url).toBe('/erp-base/web/page?a=1&b=%20');
    expect(body.headers['x-request-id']).toBe('pos-7-000123');
  });

  it('answers 404 no_route for what no route matches, and sends nothing upstream', async () => {
    const before = upstream.seen.length;
    const res = await request(`${t.gw.url}/admin/secrets`);
    expect(res.statusCode).toBe(404);
    expect(await res.body.json()).toMatchObject({ error: 'no_route' });
    expect(upstream.seen.length).toBe(before);
  });

  it('answers 400 for a malformed JSON-RPC body, and sends nothing upstream', async () => {
    const before = upstream.seen.length;
    const res = await request(`${t.gw.url}/jsonrpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"params": nope' });
    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toMatchObject({ error: 'bad_jsonrpc' });
    expect(upstream.seen.length).toBe(before);
  });

  it('answers 504 upstream_timeout when the ERP does not answer within the route deadline', async () => {
    const res = await request(`${t.gw.url}/slow`);
    expect(res.statusCode).toBe(504);
    expect(await res.body.json()).toMatchObject({ error: 'upstream_timeout' });
    expect(res.headers['x-gateway-path']).toBe('fiber');
    // Logged through the gateway's own logger (fastify has none), with the request id.
    const line = t.logs().split('\n').find((l) => l.includes('upstream request failed') && l.includes(String(res.headers['x-request-id'])));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 40, route: 'slow', path: 'fiber', failure: 'timeout' });
  });

  it('streams a 50 MB upload: the ERP sees bytes before the client has sent them all', async () => {
    const total = 50 * 2 ** 20;
    const chunk = Buffer.alloc(2 ** 20, 7);
    const upstreamStarted = new Promise<void>((resolve) => (uploadFirstChunk = resolve));
    let sent = 0;
    let sentWhenUpstreamStarted = -1;
    void upstreamStarted.then(() => (sentWhenUpstreamStarted = sent));
    const hash = createHash('sha256');
    const body = Readable.from(
      (async function* () {
        while (sent < total) {
          // Hold back the second half until the ERP has begun receiving.
          if (sent === total / 2) await upstreamStarted;
          sent += chunk.length;
          hash.update(chunk);
          yield chunk;
        }
      })(),
    );
    const res = await request(`${t.gw.url}/upload`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ bytes: total, sha256: hash.digest('hex') });
    expect(sentWhenUpstreamStarted).toBeGreaterThanOrEqual(0);
    expect(sentWhenUpstreamStarted).toBeLessThan(total);
  });

  // The ingress registers its no-op body parser by name for these types (ingress.ts): none of them may be parsed or altered.
  it.each([
    ['application/json', '{"not": "json-rpc", "n": [1, 2]}'],
    ['text/plain; charset=utf-8', 'plain text, ünïcode'],
    ['application/x-www-form-urlencoded', 'a=1&b=%20two&a=3'],
    ['multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="f"\r\n\r\nvalue\r\n--xyz--\r\n'],
    ['application/vnd.storegw-unknown', '\u0000binary-ish\u00ff'],
  ])('passes a %s body to the ERP byte for byte', async (type, text) => {
    const sent = Buffer.from(text, 'utf8');
    const res = await request(`${t.gw.url}/upload`, { method: 'POST', body: sent, headers: { 'content-type': type } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ bytes: sent.length, sha256: createHash('sha256').update(sent).digest('hex') });
  });

  it('streams a 50 MB download: the client sees bytes before the ERP has sent them all', async () => {
    const res = await request(`${t.gw.url}/web/download`);
    expect(res.statusCode).toBe(200);
    let received = 0;
    for await (const c of res.body) {
      if (received === 0) gateHeld?.();
      received += (c as Buffer).length;
    }
    expect(received).toBe(50 * 2 ** 20);
  });

  it('refuses a body over the limit with 413 before forwarding it', async () => {
    const small = await startTestGateway(gatewayYaml(upstream.url, ROUTES, { gateway: '  limits: { maxBodyBytes: 1024, maxJsonRpcBodyBytes: 512 }' }));
    try {
      const before = upstream.seen.length;
      const declared = await request(`${small.gw.url}/upload`, { method: 'PUT', body: Buffer.alloc(4096) });
      expect(declared.statusCode).toBe(413);
      await declared.body.dump();
      const rpc = await request(`${small.gw.url}/jsonrpc`, { method: 'POST', body: JSON.stringify({ params: { pad: 'x'.repeat(600) } }) });
      expect(rpc.statusCode).toBe(413);
      await rpc.body.dump();
      expect(upstream.seen.length).toBe(before);
      // Without a Content-Length the limit is enforced on the stream itself.
      const chunked = await request(`${small.gw.url}/upload`, {
        method: 'PUT',
        body: Readable.from([Buffer.alloc(800), Buffer.alloc(800)]),
      });
      expect(chunked.statusCode).toBe(413);
      await chunked.body.dump();
    } finally {
      await small.close();
    }
  });

  it('answers 502 with JSON when the ERP cannot be reached', async () => {
    const dead = await startUpstream();
    const deadUrl = dead.url;
    await dead.close();
    const t2 = await startTestGateway(gatewayYaml(deadUrl, ROUTES));
    try {
      const res = await request(`${t2.gw.url}/web/x`);
      expect(res.statusCode).toBe(502);
      expect(await res.body.json()).toMatchObject({ error: 'bad_gateway' });
    } finally {
      await t2.close();
    }
  });

  it('counts requests per route, class and outcome in /metrics', async () => {
    const res = await request(`${t.gw.adminUrl}/metrics`);
    const text = await res.body.text();
    expect(text).toMatch(/storegw_requests_total\{route="pos-orders",class="critical",outcome="forwarded"\} [1-9]/);
    expect(text).toMatch(/storegw_requests_total\{route="slow",class="normal",outcome="upstream_timeout"\} 1/);
    expect(text).toMatch(/storegw_requests_total\{route="",class="",outcome="no_route"\} [1-9]/);
    expect(text).toMatch(/storegw_request_duration_seconds_bucket\{le="[0-9.]+",class="critical"\}/);
  });

  it('answers 500 for a fault of its own, logs it with the request id as an error, and serves the next request', async () => {
    const counter = t.gw.metrics.requests;
    const record = counter.record;
    counter.record = () => {
      throw new Error('a fault of the gateway');
    };
    try {
      const res = await request(`${t.gw.url}/web/fault`, { headers: { 'x-request-id': 'till-3-fault' } });
      expect(res.statusCode).toBe(500);
      expect(await res.body.json()).toMatchObject({ message: 'a fault of the gateway' });
    } finally {
      counter.record = record;
    }
    const line = t.logs().split('\n').find((l) => l.includes('"requestId":"till-3-fault"'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 50, msg: 'request failed', err: { message: 'a fault of the gateway' } });
    expect((await request(`${t.gw.url}/web/after`)).statusCode).toBe(200);
  });
});
