// Open-proxy, path-traversal and request-smuggling attempts through a real
// gateway to an upstream that records the exact bytes it received (a raw TCP
// server parsing strictly as RFC 9112 says): nothing ever reaches any other
// address, every byte the upstream gets parses into well-framed requests with
// nothing left over, at most one request reaches it per request the client
// framed, and never one the attacker tried to hide inside another.
// test/integration/not-an-open-proxy.test.ts covers the basic forms against an
// HTTP upstream; this extends it to byte level.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { posOrderBody, posOrdersRoute } from '../support/pos.js';
import { buildRequest, rawRequest, startRecordingServer, type RecordedRequest, type RecordingServer } from '../fuzz/raw-http.js';
import { printable } from '../fuzz/fuzz-params.js';

const ROUTES = `${posOrdersRoute(1000)}
  - name: web
    match: { path: /web/** }
    class: normal
  - name: rpc
    match: { method: POST, jsonrpc: {} }
    class: normal`;

const POS = '/web/dataset/call_kw/pos.order/sync_from_ui';
/** What attackers try to get to the ERP behind the gateway's back. */
const HIDDEN = /admin|smuggled|steal|\/x-hidden/i;

describe('open proxy, traversal and smuggling, at byte level', () => {
  let erp: RecordingServer;
  let elsewhere: RecordingServer;
  let t: TestGateway;
  let followUps = 0;

  beforeAll(async () => {
    erp = await startRecordingServer();
    elsewhere = await startRecordingServer();
    t = await startTestGateway(gatewayYaml(erp.url, ROUTES));
  });
  afterAll(async () => {
    await t?.close();
    await erp?.close();
    await elsewhere?.close();
  });

  /** Sends `payload`; returns the answer and the requests the ERP got meanwhile, after a clean follow-up request. */
  async function attempt(payload: Buffer | string) {
    const before = erp.requests().length;
    const answer = await rawRequest(t.gw.url, payload, 1500);
    // A follow-up on a fresh client connection: it must arrive intact (no prefix left in a pooled upstream connection).
    const marker = `/web/follow-up-${++followUps}`;
    const follow = await request(`${t.gw.url}${marker}`);
    expect(follow.statusCode).toBe(200);
    await follow.body.dump();
    const all = erp.requests();
    const during = all.slice(before, -1);
    expect(all.at(-1)?.target).toBe(marker);
    // Every byte the ERP received parsed into complete requests: no desync, nothing pending.
    for (const c of erp.connections) expect(c.leftover.length, printable(c.bytes.toString('latin1').slice(-300), { keepNewlines: true })).toBe(0);
    // Nothing ever went anywhere else.
    expect(elsewhere.connections).toHaveLength(0);
    return { answer, during };
  }

  const headerOf = (r: RecordedRequest, name: string) =>
    r.headerLines
      .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
      .map((l) => l.slice(l.indexOf(':') + 1).trim());

  describe('open proxy', () => {
    it.each([
      ['absolute-form', () => `GET ${elsewhere.url}/web/steal HTTP/1.1\r\nHost: ${elsewhere.host}\r\nConnection: close\r\n\r\n`],
      ['absolute-form, https', () => `GET https://${elsewhere.host}/web/steal HTTP/1.1\r\nHost: ${elsewhere.host}\r\nConnection: close\r\n\r\n`],
      ['absolute-form POST to the POS route', () => buildRequest('POST', `${elsewhere.url}${POS}`, [['Host', elsewhere.host], ['Content-Type', 'application/json'], ['Connection', 'close']], posOrderBody('steal-1'))],
      ['CONNECT', () => `CONNECT ${elsewhere.host} HTTP/1.1\r\nHost: ${elsewhere.host}\r\n\r\n`],
      ['CONNECT with an origin-form-looking target', () => `CONNECT /web/x HTTP/1.1\r\nHost: ${elsewhere.host}\r\n\r\n`],
      ['scheme-relative', () => `GET //${elsewhere.host}/web/steal HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`],
      ['asterisk-form', () => `OPTIONS * HTTP/1.1\r\nHost: ${elsewhere.host}\r\nConnection: close\r\n\r\n`],
      ['an Upgrade to a websocket', () => `GET /web/ws HTTP/1.1\r\nHost: ${elsewhere.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`],
    ])('%s: refused, nothing reaches anything', async (_name, make) => {
      const { answer, during } = await attempt(make());
      expect(answer.status === undefined || (answer.status >= 400 && answer.status < 500) || (answer.status === 200 && during.every((r) => !HIDDEN.test(r.target)))).toBe(true);
      for (const r of during) {
        expect(r.target.startsWith('/')).toBe(true);
        expect(headerOf(r, 'upgrade')).toEqual([]);
      }
      if (answer.status !== 200) expect(during).toHaveLength(0);
    });

    it('a Host naming elsewhere: forwarded to the configured ingress only, with its own Host', async () => {
      const { answer, during } = await attempt(`GET /web/page HTTP/1.1\r\nHost: ${elsewhere.host}\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6;host=evil.example\r\nConnection: close\r\n\r\n`);
      expect(answer.status).toBe(200);
      expect(during).toHaveLength(1);
      const [r] = during;
      expect(headerOf(r!, 'host')).toEqual([erp.host]);
      expect(headerOf(r!, 'x-forwarded-host')).toEqual([elsewhere.host]);
      expect(headerOf(r!, 'x-forwarded-for')).toEqual(['127.0.0.1']);
      expect(headerOf(r!, 'forwarded')).toEqual([]);
    });
  });

  describe('path traversal', () => {
    it.each([
      '/web/../admin',
      '/web/%2e%2e/admin',
      '/web/%2E%2E/admin',
      '/web/.%2e/admin',
      '/web/%2e./admin',
      '/web/..%2fadmin',
      '/web/%2e%2e%2fadmin',
      '/web%2f..%2fadmin',
      '/web/..%5cadmin',
      '/web/%5c..%5cadmin',
      '/web\\..\\admin',
      '/web/..\\admin',
      '/web/%c0%ae%c0%ae/admin',
      '/web/%e0%80%ae%e0%80%ae/admin',
      '/web/%u002e%u002e/admin',
      '/web/%2e%2e%00/admin',
      '/web/..%00/admin',
      '/web/%00../admin',
      '/web/./admin',
      '/web/%2e/admin',
      '/web/x/../../admin',
      '/web/..',
      '/web/%2e%2e',
      '/web/%0d%0aX-Injected:%201/admin',
      '/web/#/../admin',
    ])('%s: 400, and nothing reaches the ERP', async (target) => {
      const { answer, during } = await attempt(`GET ${target} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`);
      expect(answer.status).toBe(400);
      expect(during).toHaveLength(0);
    });

    it.each(['/web/%252e%252e/admin', '/web/..;/admin', '/web/...', '/web/%2e%2e%3b/admin', '/web/\uff0e\uff0e/admin'.replace(/\uff0e/g, '%EF%BC%8E')])(
      '%s: not a dot segment to an RFC 3986 server; forwarded byte for byte, never normalised',
      async (target) => {
        const { answer, during } = await attempt(`GET ${target} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`);
        expect(answer.status).toBe(200);
        expect(during.map((r) => r.target)).toEqual([target]);
      },
    );
  });

  describe('request smuggling', () => {
    const smuggled = `GET /web/admin-smuggled HTTP/1.1\r\nHost: gw\r\n\r\n`;
    it.each<[string, string]>([
      ['CL.TE', `POST /web/x HTTP/1.1\r\nHost: gw\r\nContent-Length: ${4 + smuggled.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`],
      ['TE.CL', `POST /web/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${(smuggled.length).toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`],
      ['TE.TE (obfuscated second TE)', `POST /web/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: identity\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`],
      ['TE with a trailing space in the name', `POST /web/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`],
      ['TE obs-folded', `POST /web/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`],
      ['TE: \\tchunked after CL', `POST /web/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n${smuggled}`],
      ['duplicate Content-Length, different', `POST /web/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`],
      ['duplicate Content-Length, same', `POST /web/x HTTP/1.1\r\nHost: gw\r\nContent-Length: ${smuggled.length}\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`],
      ['Content-Length with a plus sign', `POST /web/x HTTP/1.1\r\nHost: gw\r\nContent-Length: +${smuggled.length}\r\n\r\n${smuggled}`],
      ['chunk size with a 0x prefix', `POST /web/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n0x${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`],
      ['chunk extension hiding a LF', `POST /web/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n2;\n\r\nxx\r\n0\r\n\r\n${smuggled}`],
      ['bare LF between headers', `POST /web/x HTTP/1.1\r\nHost: gw\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`],
      ['a header folded into the request line', `POST /web/x HTTP/1.1 Transfer-Encoding: chunked\r\nHost: gw\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`],
    ])('%s: one request at most reaches the ERP, never the hidden one', async (_name, payload) => {
      const { answer, during } = await attempt(payload);
      expect(during.length).toBeLessThanOrEqual(1);
      for (const r of during) expect(HIDDEN.test(r.target)).toBe(false);
      if (answer.status !== undefined && answer.status >= 400) expect(answer.status).toBeLessThan(500);
    });

    it('a GET with a Content-Length body holding a request: the body is never read as a request, upstream or here', async () => {
      const { answer, during } = await attempt(`GET /web/x HTTP/1.1\r\nHost: gw\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
      expect(answer.status).toBe(200);
      expect(during.map((r) => r.target)).toEqual(['/web/x']);
      // undici frames the forwarded GET itself: no body, no stale Content-Length.
      expect(during[0]!.body.length).toBe(0);
    });

    it('a JSON-RPC body holding a request: forwarded as one request with its exact body', async () => {
      const body = posOrderBody('smuggle-in-body').replace('"kwargs":{}', `"kwargs":{"note":${JSON.stringify(`\r\n\r\n${smuggled}`)}}`);
      const { answer, during } = await attempt(buildRequest('POST', POS, [['Host', 'gw'], ['Content-Type', 'application/json'], ['Connection', 'close']], body));
      expect(answer.status).toBe(200);
      expect(during).toHaveLength(1);
      expect(during[0]!.body.toString()).toBe(body);
    });

    it('pipelined requests: each one checked and forwarded on its own, in order', async () => {
      const payload = `GET /web/one HTTP/1.1\r\nHost: gw\r\n\r\nGET /web/../admin HTTP/1.1\r\nHost: gw\r\n\r\nGET /web/two HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`;
      const before = erp.requests().length;
      const { hostname, port } = new URL(t.gw.url);
      const { connect } = await import('node:net');
      const raw = await new Promise<string>((resolve) => {
        let out = '';
        const s = connect(Number(port), hostname, () => s.write(payload));
        s.on('data', (d) => (out += d.toString('latin1')));
        s.on('close', () => resolve(out));
        setTimeout(() => s.destroy(), 2000);
      });
      expect(raw.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 400', 'HTTP/1.1 200']);
      expect(erp.requests().slice(before).map((r) => r.target)).toEqual(['/web/one', '/web/two']);
    });

    it('hop-by-hop and Connection-listed headers never reach the ERP', async () => {
      const { answer, during } = await attempt(
        `GET /web/x HTTP/1.1\r\nHost: gw\r\nConnection: keep-alive, X-Secret-Hop, Authorization\r\nX-Secret-Hop: 1\r\nAuthorization: Bearer hop\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eDp5\r\nExpect: 100-continue\r\n\r\n`,
      );
      expect(answer.status).toBe(200);
      expect(during).toHaveLength(1);
      const names = during[0]!.headerLines.map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
      for (const h of ['x-secret-hop', 'authorization', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'proxy-authorization', 'expect', 'transfer-encoding']) expect(names).not.toContain(h);
    });
  });
});
