// The gateway's admin API with a token configured: every route but /healthz
// and /readyz answers 401 without the token or with a wrong one (in every
// malformed shape an Authorization header can take), refused actions change
// nothing, and the right token works. Extends the two routes checked in
// test/integration/not-an-open-proxy.test.ts to all of them.
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { rawRequest } from '../fuzz/raw-http.js';

const TOKEN = 'admin-token-Zq8r4LxV0pW2mN7c';
const RECEIPT = randomUUID();

const ROUTES: [method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD', path: string, body?: unknown][] = [
  ['GET', '/v1/status'],
  ['HEAD', '/v1/status'],
  ['GET', '/metrics'],
  ['GET', '/v1/queue'],
  ['GET', '/v1/queue?state=dead'],
  ['POST', `/v1/queue/${RECEIPT}/retry`],
  ['DELETE', `/v1/queue/${RECEIPT}`],
  ['POST', '/v1/replay/pause'],
  ['POST', '/v1/replay/resume'],
  ['PUT', '/v1/replay/rate', { ratePerSec: 1 }],
  ['GET', '/no-such-route'],
  ['GET', '/v1/status/'],
  ['GET', '/v1/%73tatus'],
  ['GET', '//v1/status'],
  ['GET', '/healthz/../v1/status'],
  ['GET', '/v1/status?token=' + TOKEN],
];

const WRONG: [string, string | undefined][] = [
  ['no header', undefined],
  ['empty', ''],
  ['Bearer and nothing', 'Bearer'],
  ['Bearer and a space', 'Bearer '],
  ['a wrong token', 'Bearer not-the-admin-token-00000'],
  ['the token with one more character', `Bearer ${TOKEN}x`],
  ['the token one character short', `Bearer ${TOKEN.slice(0, -1)}`],
  ['the token in another case', `Bearer ${TOKEN.toUpperCase()}`],
  ['the token and another word', `Bearer ${TOKEN} extra`],
  ['two tokens', `Bearer ${TOKEN}, Bearer ${TOKEN}`],
  ['the token as Basic', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`],
  ['the token without a scheme', TOKEN],
  ['another scheme', `Token ${TOKEN}`],
  ['the token\'s sha256', 'Bearer 0c5b0f4ee0b1c9ce8e2e4b3a6c0a3d1e7c5a8b9d0e1f2a3b4c5d6e7f8a9b0c1d'],
];

describe('admin API with a token', () => {
  let erp: TestUpstream;
  let t: TestGateway;
  const call = async (method: string, path: string, authorization: string | undefined, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (authorization !== undefined) headers.authorization = authorization;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(`${t.gw.adminUrl}${path}`, { method: method as 'GET', headers, body: body === undefined ? null : JSON.stringify(body) });
    const text = await res.body.text();
    return { status: res.statusCode, text, headers: res.headers };
  };
  const replayStatus = async () => JSON.parse((await call('GET', '/v1/status', `Bearer ${TOKEN}`)).text).replay as { paused: boolean; ratePerSec: number };

  beforeAll(async () => {
    erp = await startUpstream();
    t = await startTestGateway(
      gatewayYaml(erp.url, '  - name: web\n    match: { path: /web/** }\n    class: normal', { extra: 'replay: { ratePerSec: 25 }' }).replace(
        'admin: { host: 127.0.0.1, port: 0 }',
        'admin: { host: 127.0.0.1, port: 0, tokenFile: admin.token }',
      ),
      { 'admin.token': `${TOKEN}\n` },
    );
  });
  afterAll(async () => {
    await t?.close();
    await erp?.close();
  });

  it.each(ROUTES)('%s %s: 401 for every wrong Authorization, and nothing changes', async (method, path, body) => {
    const before = await replayStatus();
    for (const [what, authorization] of WRONG) {
      const r = await call(method, path, authorization, body);
      expect(r.status, `${what}: ${r.text}`).toBe(401);
      expect(String(r.headers['www-authenticate'])).toMatch(/^Bearer /);
      expect(r.text).not.toContain(TOKEN);
    }
    expect(await replayStatus()).toEqual(before);
  });

  it('a duplicated Authorization header: the wrong one first is not rescued by the right one second', async () => {
    const r = await rawRequest(t.gw.adminUrl, `POST /v1/replay/pause HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer wrong-wrong-wrong-wrong\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(401);
    expect((await replayStatus()).paused).toBe(false);
  });

  it('/healthz and /readyz stay open (with or without a token, even a wrong one)', async () => {
    for (const path of ['/healthz', '/readyz', '/healthz?x=1']) {
      for (const authorization of [undefined, 'Bearer wrong-wrong-wrong-wrong', `Bearer ${TOKEN}`]) {
        const r = await call('GET', path, authorization);
        expect(r.status, path).toBe(200);
        expect(r.text).not.toContain(TOKEN);
      }
    }
  });

  it('the right token works (the scheme in any case, extra spaces around the token), and acts', async () => {
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER   ${TOKEN}  `]) {
      expect((await call('GET', '/v1/status', authorization)).status).toBe(200);
    }
    expect((await call('PUT', '/v1/replay/rate', `Bearer ${TOKEN}`, { ratePerSec: 7 })).status).toBe(200);
    expect((await replayStatus()).ratePerSec).toBe(7);
    expect((await call('POST', '/v1/replay/pause', `Bearer ${TOKEN}`)).status).toBe(200);
    expect((await replayStatus()).paused).toBe(true);
    expect((await call('POST', '/v1/replay/resume', `Bearer ${TOKEN}`)).status).toBe(200);
    expect(t.logs()).not.toContain(TOKEN);
  });

  it('the admin API is not reachable through the LAN port', async () => {
    for (const path of ['/v1/status', '/metrics', '/v1/queue', '/v1/replay/pause']) {
      const r = await request(`${t.gw.url}${path}`, { method: path.endsWith('pause') ? 'POST' : 'GET', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(r.statusCode, path).toBe(404);
      expect(await r.body.text()).not.toMatch(/replay|pending/);
    }
    expect(erp.seen).toHaveLength(0);
  });
});
