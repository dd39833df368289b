// The security stance, over real sockets: whatever a LAN client sends, the
// gateway only ever talks to its configured ingress, only for routes it knows,
// and only for devices it admits. A second server ("elsewhere") stands for any
// other address and must never see a byte.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { rawExchange, startUpstream, type TestUpstream } from '../support/upstream.js';

const CATCH_ALL = `  - name: web
    match: { path: /web/* }
    class: normal
  - name: everything-else
    match: { method: [GET, POST], path: /* }
    class: normal`;

describe('never an open proxy', () => {
  let erp: TestUpstream;
  let elsewhere: TestUpstream;
  let t: TestGateway;

  beforeAll(async () => {
    erp = await startUpstream();
    elsewhere = await startUpstream();
    t = await startTestGateway(gatewayYaml(erp.url, CATCH_ALL));
  });
  afterAll(async () => {
    await t?.close();
    await erp?.close();
    await elsewhere?.close();
  });

  const elsewhereHost = () => new URL(elsewhere.url).host;

  it('refuses an absolute-form target (a forward-proxy request) with 400', async () => {
    const before = erp.seen.length;
    const answer = await rawExchange(t.gw.url, `GET ${elsewhere.url}/steal HTTP/1.1\r\nHost: ${elsewhereHost()}\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expect(elsewhere.seen).toHaveLength(0);
    expect(erp.seen.length).toBe(before);
  });

  it('does not tunnel CONNECT', async () => {
    const answer = await rawExchange(t.gw.url, `CONNECT ${elsewhereHost()} HTTP/1.1\r\nHost: ${elsewhereHost()}\r\n\r\n`);
    expect(answer).not.toMatch(/^HTTP\/1.1 200/);
    expect(elsewhere.seen).toHaveLength(0);
  });

  it('refuses the asterisk-form target', async () => {
    const answer = await rawExchange(t.gw.url, 'OPTIONS * HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 (400|404)/);
    expect(elsewhere.seen).toHaveLength(0);
  });

  it('answers a URL that cannot be decoded with its own JSON 400 and request id, forwarding nothing', async () => {
    const before = erp.seen.length;
    const answer = await rawExchange(t.gw.url, 'GET /web/%zz/x HTTP/1.1\r\nHost: gw\r\nX-Request-Id: till-7-42\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expect(answer).toMatch(/x-request-id: till-7-42/i);
    expect(answer).toMatch(/"error":"bad_request"/);
    expect(erp.seen).toHaveLength(before);
  });

  it('ignores a spoofed Host: the request still goes to the configured ingress, with its own Host', async () => {
    const res = await request(`${t.gw.url}/web/page`, { headers: { host: elsewhereHost() } });
    expect(res.statusCode).toBe(200);
    const echoed = (await res.body.json()) as { headers: Record<string, string> };
    expect(echoed.headers.host).toBe(new URL(erp.url).host);
    expect(echoed.headers['x-forwarded-host']).toBe(elsewhereHost());
    expect(elsewhere.seen).toHaveLength(0);
  });

  it.each([
    '/web/../admin',
    '/web/%2e%2e/admin',
    '/web/%2E%2e/admin',
    '/web/.%2e/admin',
    '/web/%2e/x',
    '/web%2f..%2fadmin',
    '/web/..%5cadmin',
    '/web\\..\\admin',
    '/web/%00',
    '/web/%zz',
  ])('refuses the traversal %s with 400 and forwards nothing', async (target) => {
    const before = erp.seen.length;
    const answer = await rawExchange(t.gw.url, `GET ${target} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expect(erp.seen.length).toBe(before);
  });

  it('classifies a JSON-RPC call by what Odoo will execute, and refuses a URL that disagrees with the body', async () => {
    const before = erp.seen.length;
    const res = await request(`${t.gw.url}/web/dataset/call_kw/product.product/search_read`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ params: { model: 'res.users', method: 'unlink', args: [[1]] } }),
    });
    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toMatchObject({ error: 'bad_jsonrpc' });
    expect(erp.seen.length).toBe(before);
  });

  it('refuses a method no route allows', async () => {
    const res = await request(`${t.gw.url}/other`, { method: 'DELETE' });
    expect(res.statusCode).toBe(404);
    await res.body.dump();
  });
});

describe('device admission and secrets', () => {
  let erp: TestUpstream;
  beforeAll(async () => {
    erp = await startUpstream();
  });
  afterAll(async () => {
    await erp?.close();
  });

  it('answers 403 to a client outside allowCidrs and forwards nothing', async () => {
    const t = await startTestGateway(gatewayYaml(erp.url, CATCH_ALL, { gateway: '  devices: { allowCidrs: [192.168.10.0/24] }' }));
    try {
      const before = erp.seen.length;
      const res = await request(`${t.gw.url}/web/x`);
      expect(res.statusCode).toBe(403);
      expect(await res.body.json()).toMatchObject({ error: 'forbidden' });
      expect(erp.seen.length).toBe(before);
    } finally {
      await t.close();
    }
  });

  it('requires a device token when a token file is set; the token never goes upstream nor into logs', async () => {
    const token = 'pos-token-7f3a9c0e1d2b';
    const t = await startTestGateway(gatewayYaml(erp.url, CATCH_ALL, { gateway: '  devices: { allowCidrs: [127.0.0.0/8], tokensFile: devices.yaml }' }), {
      'devices.yaml': `pos-1: ${token}\n`,
    });
    try {
      const without = await request(`${t.gw.url}/web/x`);
      expect(without.statusCode).toBe(403);
      await without.body.dump();
      const wrong = await request(`${t.gw.url}/web/x`, { headers: { 'x-device-token': 'nope-nope-nope-nope' } });
      expect(wrong.statusCode).toBe(403);
      await wrong.body.dump();

      const ok = await request(`${t.gw.url}/web/x`, { headers: { 'x-device-token': token, authorization: 'Bearer odoo-session-secret-1234' } });
      expect(ok.statusCode).toBe(200);
      const echoed = (await ok.body.json()) as { headers: Record<string, string> };
      expect(echoed.headers['x-device-token']).toBeUndefined();
      expect(echoed.headers['x-device-id']).toBe('pos-1');
      expect(t.logs()).not.toContain(token);
      expect(t.logs()).not.toContain('odoo-session-secret-1234');
    } finally {
      await t.close();
    }
  });

  it('protects the admin API with its bearer token, leaves health open, and never shows the token', async () => {
    const adminToken = 'admin-token-5e6f7a8b9c0d';
    const t = await startTestGateway(
      gatewayYaml(erp.url, CATCH_ALL).replace('admin: { host: 127.0.0.1, port: 0 }', 'admin: { host: 127.0.0.1, port: 0, tokenFile: admin.token }'),
      { 'admin.token': adminToken + '\n' },
    );
    try {
      for (const path of ['/v1/status', '/metrics']) {
        const denied = await request(`${t.gw.adminUrl}${path}`);
        expect(denied.statusCode).toBe(401);
        await denied.body.dump();
        const wrong = await request(`${t.gw.adminUrl}${path}`, { headers: { authorization: `Bearer ${adminToken}0` } });
        expect(wrong.statusCode).toBe(401);
        await wrong.body.dump();
      }
      const health = await request(`${t.gw.adminUrl}/healthz`);
      expect(health.statusCode).toBe(200);
      await health.body.dump();
      const status = await request(`${t.gw.adminUrl}/v1/status`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(status.statusCode).toBe(200);
      const text = await status.body.text();
      expect(JSON.parse(text)).toMatchObject({ store: { id: 'store-test' }, configVersion: expect.stringMatching(/^[0-9a-f]{12}$/), paths: [{ name: 'fiber' }] });
      expect(text).not.toContain(adminToken);
      expect(t.logs()).not.toContain(adminToken);
    } finally {
      await t.close();
    }
  });
});
