// Secrets a gateway holds — the admin token, device tokens, the fleet token,
// credentials in fleet.hubUrl, WireGuard private and preshared keys in `wg show
// dump` — and those clients send (Authorization, Cookie) never show up where
// they should not: not in the logs (captured at debug level), not in
// /v1/status, /metrics or the queue API, not in what the agent sends the hub
// (hello, telemetry, command results), not upstream (device token), and not in
// the journal, cache or spool files (device token; session credentials in the
// cache file). The gateway runs through a refused and an accepted fleet token,
// a reload, WireGuard dumps good and malformed, buffered, cached, passthrough
// and refused requests.
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { gatewayYaml, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { eventually, posOrderBody, posOrdersRoute } from '../support/pos.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const key = () => randomBytes(32).toString('base64');
const S = {
  admin: 'admin-secret-Vd93kQ0aLr7ZpW2x',
  deviceA: 'device-secret-A-h2Jq8ZxN4mCk',
  deviceB: 'device-secret-B-p9Wr3TyU6eLs',
  fleet: 'fleet-secret-Gt5nY8wQ1zXb0Hd4',
  fleetWrong: 'fleet-secret-WRONG-q1w2e3r4t5',
  urlPassword: 'url-password-Kc7Vb2Nm9Qz4',
  urlQuery: 'url-query-token-Rt6Yu8Io0Pa3',
  wgPrivate: key(),
  wgPreshared: key(),
  wgPrivateBad: key(),
  wgPresharedBad: key(),
  authorization: 'odoo-authorization-Lk2Jh4Gf6Ds8',
  cookie: 'odoo-session-Zx1Cv3Bn5Mq7',
};
const WG_PUBLIC = key();
const PEER_PUBLIC = key();

/** A stand-in `wg`: a good dump for wg-good, a malformed one (a shifted peer line) for wg-bad. */
function fakeWg(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const now = Math.floor(Date.now() / 1000);
  const good = `${S.wgPrivate}\t${WG_PUBLIC}\t51820\toff\n${PEER_PUBLIC}\t${S.wgPreshared}\t10.199.0.1:51820\t10.200.0.0/24\t${now}\t1000\t2000\t25\n`;
  const bad = `${S.wgPrivateBad}\t${WG_PUBLIC}\t51820\toff\n${S.wgPresharedBad}\t10.199.0.1:51820\t10.200.0.0/24\t${now}\t1000\t2000\t25\n`;
  writeFileSync(join(bin, 'good.txt'), good);
  writeFileSync(join(bin, 'bad.txt'), bad);
  writeFileSync(join(bin, 'wg'), `#!/bin/sh\ncase "$2" in\n  wg-good) cat "${bin}/good.txt" ;;\n  wg-bad) cat "${bin}/bad.txt" ;;\n  *) echo "Unable to access interface: No such device" >&2; exit 1 ;;\nesac\n`);
  chmodSync(join(bin, 'wg'), 0o755);
  return bin;
}

const ROUTES = `${posOrdersRoute(1000)}
  - name: catalog
    match: { method: POST, jsonrpc: { model: product.product, method: search_read } }
    class: interactive
    mode: cache
    timeoutMs: 1000
  - name: images
    match: { method: GET, path: /web/image/** }
    class: bulk
    mode: cache
  - name: web
    match: { path: /web/** }
    class: normal`;

describe('secrets stay where they belong', () => {
  let erp: TestUpstream;
  let hub: FakeHub;
  let t: TestGateway;
  let dir: string;
  let oldPath: string | undefined;
  const collected: { status: string; metrics: string; queue: string; receipts: string; lan: string; staff: string } = { status: '', metrics: '', queue: '', receipts: '', lan: '', staff: '' };

  beforeAll(async () => {
    // An ERP that answers without echoing what it got (so a secret found in a file came from the gateway, not from the answer).
    erp = await startUpstream((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('cache-control', 'max-age=60');
        res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: [{ id: 1, name: 'Widget' }] }));
      });
    });
    hub = await startFakeHub({ token: S.fleet });
    dir = tempDir('storegw-secrets-');
    oldPath = process.env.PATH;
    process.env.PATH = `${fakeWg(dir)}:${process.env.PATH ?? ''}`;
    const hubUrl = hub.url.replace('ws://', `ws://storegw:${S.urlPassword}@`) + `?token=${S.urlQuery}`;
    const yaml = gatewayYaml(erp.url, ROUTES, {
      gateway: '  devices: { allowCidrs: [127.0.0.0/8], tokensFile: devices.yaml }',
      extra: `link: { wireguardIntervalMs: 500 }
fleet:
  hubUrl: "${hubUrl}"
  tokenFile: fleet.token
  telemetryIntervalMs: 200
  reconnect: { baseMs: 50, maxMs: 300 }
  spoolPath: ./fleet-spool.db`,
    })
      .replace('admin: { host: 127.0.0.1, port: 0 }', 'admin: { host: 127.0.0.1, port: 0, tokenFile: admin.token }')
      .replace(`baseUrl: ${erp.url}`, `baseUrl: ${erp.url}\n    wireguard: { interface: wg-good }\n  - name: lte\n    baseUrl: ${erp.url}\n    wireguard: { interface: wg-bad }\n  - name: spare\n    baseUrl: ${erp.url}\n    wireguard: { interface: wg-gone }`);
    t = await startTestGateway(yaml, {
      'admin.token': `${S.admin}\n`,
      'devices.yaml': `pos-a: ${S.deviceA}\npos-b: ${S.deviceB}\n`,
      // First a token the hub refuses; replaced below with the right one (it is re-read at every dial).
      'fleet.token': `${S.fleetWrong}\n`,
    });
  });
  afterAll(async () => {
    process.env.PATH = oldPath;
    await t?.close();
    await hub?.stop();
    await erp?.close();
  });

  const admin = async (path: string) => {
    const res = await request(`${t.gw.adminUrl}${path}`, { headers: { authorization: `Bearer ${S.admin}` } });
    return res.body.text();
  };
  const lan = async (path: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}) => {
    const res = await request(`${t.gw.url}${path}`, { method: init.method ?? 'GET', headers: init.headers ?? {}, body: init.body ?? null });
    const text = await res.body.text();
    collected.lan += JSON.stringify(res.headers) + text;
    return { status: res.statusCode, headers: res.headers, text };
  };

  it('runs the gateway through what makes secrets travel', async () => {
    // The hub refuses the first token, then the right one is put in place.
    await eventually(() => expect(hub.refused()).toBeGreaterThan(0), 5000);
    writeFileSync(join(t.dir, 'fleet.token'), `${S.fleet}\n`, { mode: 0o600 });
    await hub.waitFor((m) => m.type === 'hello', { timeoutMs: 5000 });
    await hub.waitFor((m) => m.type === 'telemetry', { timeoutMs: 5000 });

    const withSession = { authorization: `Bearer ${S.authorization}`, cookie: `session_id=${S.cookie}` };
    const a = { 'x-device-token': S.deviceA, 'content-type': 'application/json', ...withSession };
    const b = { 'x-device-token': S.deviceB, ...withSession };
    expect((await lan('/web/dataset/call_kw/pos.order/sync_from_ui', { method: 'POST', headers: a, body: posOrderBody('secret-order-1') })).status).toBe(200);
    expect((await lan('/web/dataset/call_kw/product.product/search_read', { method: 'POST', headers: a, body: JSON.stringify({ jsonrpc: '2.0', id: 7, params: { model: 'product.product', method: 'search_read', args: [], kwargs: {} } }) })).status).toBe(200);
    expect((await lan('/web/image/product.product/1/image_128', { headers: b })).status).toBe(200);
    expect((await lan('/web/page', { headers: b })).status).toBe(200);
    // Refused: wrong device token, device token in the wrong header, a bad target, a bad JSON-RPC body.
    expect((await lan('/web/page', { headers: { 'x-device-token': `${S.deviceA}x` } })).status).toBe(403);
    expect((await lan('/web/page', { headers: { authorization: `Bearer ${S.deviceA}` } })).status).toBe(403);
    expect((await lan('/web/%zz/x', { headers: b })).status).toBe(400);
    expect((await lan('/web/dataset/call_kw', { method: 'POST', headers: a, body: `{"params":"${S.deviceB}"` })).status).toBe(400);

    // WireGuard read at least twice (rates need two samples), the malformed dump and the missing interface reported.
    await eventually(async () => {
      const status = JSON.parse(await admin('/v1/status')) as { paths: { name: string; rxBps?: number | null; wireguardError?: string }[] };
      const byName = Object.fromEntries(status.paths.map((p) => [p.name, p]));
      expect(typeof byName.fiber?.rxBps).toBe('number');
      expect(byName.lte?.wireguardError).toMatch(/line 2/);
      expect(byName.spare?.wireguardError).toMatch(/wg-gone/);
    }, 5000);

    // The hub asks for status and the queue; the configuration is reloaded.
    const status = await hub.command('status');
    expect(status.ok).toBe(true);
    expect((await hub.command('queue.list', { state: 'delivered' })).ok).toBe(true);
    expect(t.gw.reload().ok).toBe(true);

    collected.status = await admin('/v1/status');
    collected.metrics = await admin('/metrics');
    collected.queue = (await Promise.all(['pending', 'dead', 'delivered'].map((s) => admin(`/v1/queue?state=${s}`)))).join('\n');
    const receipt = (JSON.parse(collected.queue.split('\n')[2]!) as { entries: { receipt: string }[] }).entries[0]!.receipt;
    collected.receipts = (await lan(`/_gateway/receipts/${receipt}`, { headers: b })).text;
    collected.staff = (await lan('/.storegw/status', { headers: b })).text + (await lan('/.storegw/status.json', { headers: b })).text;
  });

  const WHERE_NONE_MAY_BE: [string, () => string, (keyof typeof S)[]][] = [
    ['the gateway log', () => t.logs(), Object.keys(S) as (keyof typeof S)[]],
    ['/v1/status', () => collected.status, Object.keys(S) as (keyof typeof S)[]],
    ['/metrics', () => collected.metrics, Object.keys(S) as (keyof typeof S)[]],
    ['/v1/queue', () => collected.queue, Object.keys(S) as (keyof typeof S)[]],
    ['the receipt endpoint and LAN answers', () => collected.receipts + collected.lan, Object.keys(S) as (keyof typeof S)[]],
    ['the staff page and its JSON twin', () => collected.staff, Object.keys(S) as (keyof typeof S)[]],
    ['what the agent sent the hub', () => JSON.stringify(hub.messages) + hub.invalid.join('\n'), Object.keys(S) as (keyof typeof S)[]],
    // Device tokens are never forwarded; the ERP does get the client's own session, by design.
    ['what reached the ERP', () => JSON.stringify(erp.seen), ['admin', 'deviceA', 'deviceB', 'fleet', 'fleetWrong', 'urlPassword', 'urlQuery', 'wgPrivate', 'wgPreshared', 'wgPrivateBad', 'wgPresharedBad']],
  ];

  it.each(WHERE_NONE_MAY_BE)('no secret in %s', (_where, text, which) => {
    const haystack = text();
    expect(haystack.length).toBeGreaterThan(0);
    for (const name of which) expect(haystack.includes(S[name]), `${name} found`).toBe(false);
  });

  it("the staff page names no address of the ERP or the tunnels' peers", () => {
    expect(collected.staff).toContain('fiber');
    for (const address of [new URL(erp.url).host, '10.199.0.1', '10.200.0.0']) expect(collected.staff).not.toContain(address);
  });

  it('the log says what happened without the secrets (the checks above looked at real lines)', () => {
    const log = t.logs();
    expect(log).toContain("the hub refused this gateway's token");
    expect(log).toContain('connected to the fleet hub');
    expect(log).toContain('device refused');
    expect(log).toContain('WireGuard state unreadable');
    expect(log).toContain('configuration reloaded');
  });

  it('no device token, admin or fleet secret in the journal, cache or spool files; no session credential in the cache file', () => {
    const files = readdirSync(t.dir).filter((f) => /\.db(-wal|-shm)?$/.test(f));
    expect(files).toEqual(expect.arrayContaining(['journal.db', 'cache.db', 'fleet-spool.db']));
    for (const f of files) {
      const bytes = readFileSync(join(t.dir, f)).toString('latin1');
      for (const name of ['admin', 'deviceA', 'deviceB', 'fleet', 'fleetWrong', 'urlPassword', 'urlQuery', 'wgPrivate', 'wgPreshared', 'wgPrivateBad', 'wgPresharedBad'] as const) {
        expect(bytes.includes(S[name]), `${name} in ${f}`).toBe(false);
      }
      // Cache entries of a session are filed under a digest of its credentials (docs/architecture.md, "Read cache").
      if (f.startsWith('cache.db')) for (const name of ['authorization', 'cookie'] as const) expect(bytes.includes(S[name]), `${name} in ${f}`).toBe(false);
    }
  });
});
