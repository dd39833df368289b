// WebSocket upgrades (the Odoo bus) through a real gateway over real sockets:
// relayed on routes that say `websocket: true` only, under the HTTP rules
// (admission, target check, routes), capped, refused at once when no path can
// carry them, closed when their path goes DOWN (the reconnect takes another
// path), when the ERP closes, and when the gateway shuts down.
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/pos.js';
import { rawExchange } from '../support/upstream.js';

const ROUTES = `  - name: bus
    match: { method: GET, path: /websocket }
    class: interactive
    timeoutMs: 5000
    websocket: true
  - name: web
    match: { path: /web/** }
    class: normal
    timeoutMs: 5000`;

const CHANNEL = '["db","pos.config",1]';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(): Promise<ErpSimulator> {
  const s = await startErpSimulator();
  cleanups.push(() => s.close());
  return s;
}

async function gateway(yaml: string, files: Record<string, string> = {}): Promise<TestGateway> {
  const t = await startTestGateway(yaml, files);
  cleanups.push(() => t.close());
  return t;
}

const wsUrl = (t: TestGateway, target = '/websocket?version=18.0-1') => t.gw.url.replace(/^http/, 'ws') + target;

interface Client {
  ws: WebSocket;
  /** Response headers of the 101. */
  headers: IncomingHttpHeaders;
  messages: unknown[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a session through the gateway; rejects when the upgrade is refused. */
function connect(url: string, headers: Record<string, string> = {}, protocols: string[] = []): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers: { origin: 'http://pos.store.test', cookie: 'session_id=s3ss10n', ...headers } });
    cleanups.push(() => ws.terminate());
    const messages: unknown[] = [];
    let upgradeHeaders: IncomingHttpHeaders = {};
    ws.on('upgrade', (res) => (upgradeHeaders = res.headers));
    ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('open', () => resolve({ ws, headers: upgradeHeaders, messages, closed }));
    ws.on('error', reject);
  });
}

interface Refused {
  status: number;
  headers: IncomingHttpHeaders;
  body: { error: string; message: string; requestId: string };
  ms: number;
}

/** An upgrade the gateway must refuse: its status, headers and JSON body. */
function refused(url: string, headers: Record<string, string> = {}): Promise<Refused> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString()), ms: performance.now() - started });
        req.destroy();
      });
    });
  });
}

const subscribe = (c: Client, last = 0) => c.ws.send(JSON.stringify({ event_name: 'subscribe', data: { channels: [CHANNEL], last } }));

async function metrics(t: TestGateway): Promise<string> {
  return (await request(`${t.gw.adminUrl}/metrics`)).body.text();
}

/** The value of one sample of the Prometheus text, 0 when absent. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

async function pathStates(t: TestGateway): Promise<Record<string, string>> {
  const s = (await (await request(`${t.gw.adminUrl}/v1/status`)).body.json()) as { paths: { name: string; state: string }[] };
  return Object.fromEntries(s.paths.map((p) => [p.name, p.state]));
}

const probe = (url: string) => `probe: { url: "${url}/ping", intervalMs: 100, timeoutMs: 100 }`;

/** fiber, then a metered lte (so fiber carries everything while both are UP), each probed. */
function twoPaths(fiber: ErpSimulator, lte: ErpSimulator): string {
  return gatewayYaml(fiber.url, ROUTES, { extra: 'link: { downAfter: 2, upAfter: 3 }' }).replace(
    `baseUrl: ${fiber.url}`,
    `baseUrl: ${fiber.url}\n    ${probe(fiber.url)}\n  - name: lte\n    baseUrl: ${lte.url}\n    metered: true\n    ${probe(lte.url)}`,
  );
}

describe('websocket relay', () => {
  it('relays the Odoo bus: subscribe, missed and pushed notifications, bytes counted both ways', async () => {
    const erp = await sim();
    const t = await gateway(gatewayYaml(erp.url, ROUTES));
    const missed = erp.notify(CHANNEL, 'pos.sync', { order: 1 });

    const c = await connect(wsUrl(t));
    expect(c.headers['x-gateway-path']).toBe('fiber');
    subscribe(c);
    await eventually(() => expect(c.messages).toEqual([[missed]]));
    const pushed = erp.notify(CHANNEL, 'ORDER_SYNC', { order: 2, payload: 'x'.repeat(70_000) });
    erp.notify('["db", "pos.config", 2]', 'ORDER_SYNC', { order: 3 });
    await eventually(() => expect(c.messages).toEqual([[missed], [pushed]]));
    expect(erp.busConnections()).toBe(1);

    const m = await metrics(t);
    expect(sample(m, 'storegw_websocket_sessions{path="fiber"}')).toBe(1);
    expect(sample(m, 'storegw_websocket_upgrades_total{route="bus",outcome="accepted"}')).toBe(1);
    expect(sample(m, 'storegw_websocket_bytes_total{path="fiber",direction="to_client"}')).toBeGreaterThan(70_000);
    expect(sample(m, 'storegw_websocket_bytes_total{path="fiber",direction="to_upstream"}')).toBeGreaterThan(40);

    // The client leaves: the ERP's socket goes too, and the session is no longer counted.
    c.ws.close(1000);
    expect((await c.closed).code).toBe(1000);
    await eventually(() => expect(erp.busConnections()).toBe(0));
    await eventually(async () => expect(sample(await metrics(t), 'storegw_websocket_sessions{path="fiber"}')).toBe(0));
  });

  it('sends the handshake to the path the way an HTTP request goes (Origin, Cookie, subprotocol kept; gateway headers asserted) and passes the close code of the ERP', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => (protocols.has('odoo-bus') ? 'odoo-bus' : false) });
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    await new Promise((r) => server.once('listening', r));
    server.on('connection', (ws, req) => {
      seen.push(req.headers);
      ws.on('message', (data) => (data.toString() === '"bye"' ? ws.close(4001, 'session expired') : ws.send(JSON.stringify({ echo: JSON.parse(data.toString()) as unknown }))));
    });
    const upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const t = await gateway(gatewayYaml(upstream, ROUTES));

    const c = await connect(wsUrl(t), { 'x-forwarded-for': '6.6.6.6', 'x-store-id': 'forged', 'x-request-id': 'till-7.42' }, ['odoo-bus']);
    expect(c.ws.protocol).toBe('odoo-bus');
    expect(seen[0]).toMatchObject({
      origin: 'http://pos.store.test',
      cookie: 'session_id=s3ss10n',
      'sec-websocket-protocol': 'odoo-bus',
      'x-forwarded-for': '127.0.0.1',
      'x-store-id': 'store-test',
      'x-request-id': 'till-7.42',
      upgrade: 'websocket',
    });
    expect(seen[0]!.host).toBe(new URL(upstream).host);

    c.ws.send('"hello"');
    await eventually(() => expect(c.messages).toEqual([{ echo: 'hello' }]));
    // The ERP ends the session (Odoo's SESSION_EXPIRED): the client hears it as the ERP said it.
    c.ws.send('"bye"');
    expect(await c.closed).toEqual({ code: 4001, reason: 'session expired' });
    await eventually(async () => expect(sample(await metrics(t), 'storegw_websocket_sessions{path="fiber"}')).toBe(0));
  });

  it('refuses upgrades on routes without websocket: true, without a route, and with targets that are not plain paths, reaching nothing upstream', async () => {
    const erp = await sim();
    const t = await gateway(gatewayYaml(erp.url, ROUTES));

    const notAllowed = await refused(wsUrl(t, '/web/websocket'));
    expect(notAllowed).toMatchObject({ status: 400, body: { error: 'websocket_not_allowed' } });
    expect(notAllowed.headers['x-request-id']).toBe(notAllowed.body.requestId);
    expect(await refused(wsUrl(t, '/elsewhere'))).toMatchObject({ status: 404, body: { error: 'no_route' } });

    const { port } = new URL(t.gw.url);
    const upgrade = (target: string) =>
      rawExchange(t.gw.url, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    for (const target of [`http://127.0.0.1:${erp.port}/websocket`, '/web/../websocket', '/web/%2e%2e/websocket', '//evil.test/websocket']) {
      const answer = await upgrade(target);
      expect(answer, target).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer, target).toContain('"error":"bad_request"');
    }
    // Another protocol than WebSocket is not relayed either.
    const h2c = await rawExchange(t.gw.url, `GET /websocket HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n`);
    expect(h2c).toMatch(/^HTTP\/1\.1 400 /);
    expect(h2c).toContain('"error":"unsupported_upgrade"');

    expect(erp.received()).toBe(0);
    const m = await metrics(t);
    expect(sample(m, 'storegw_websocket_upgrades_total{route="",outcome="bad_request"}')).toBe(5);
    expect(sample(m, 'storegw_websocket_upgrades_total{route="",outcome="no_route"}')).toBe(1);
    expect(sample(m, 'storegw_websocket_upgrades_total{route="web",outcome="not_websocket_route"}')).toBe(1);
  });

  it('admits a websocket by the same rules as a request: outside allowCidrs or without a device token, 403', async () => {
    const erp = await sim();
    const outside = await gateway(gatewayYaml(erp.url, ROUTES, { gateway: '  devices: { allowCidrs: [192.168.10.0/24] }' }));
    expect(await refused(wsUrl(outside))).toMatchObject({ status: 403, body: { error: 'forbidden' } });

    const token = 'till-token-5b8e2d1c9a';
    const tokened = await gateway(gatewayYaml(erp.url, ROUTES, { gateway: '  devices: { allowCidrs: [127.0.0.0/8], tokensFile: devices.yaml }' }), { 'devices.yaml': `till-1: ${token}\n` });
    // What a browser's WebSocket sends: no way to add the header.
    expect(await refused(wsUrl(tokened))).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect(await refused(wsUrl(tokened), { 'x-device-token': 'wrong-token-000000' })).toMatchObject({ status: 403 });
    const c = await connect(wsUrl(tokened), { 'x-device-token': token });
    subscribe(c);
    await eventually(() => expect(erp.busConnections()).toBe(1));
    expect(erp.received()).toBe(1);
    expect(tokened.logs()).not.toContain(token);
  });

  it('refuses past maxWebSockets with 503 and Retry-After, and frees the slot when a session ends', async () => {
    const erp = await sim();
    const t = await gateway(gatewayYaml(erp.url, ROUTES, { gateway: '  limits: { maxWebSockets: 1 }' }));
    const first = await connect(wsUrl(t));
    const over = await refused(wsUrl(t));
    expect(over).toMatchObject({ status: 503, body: { error: 'too_many_websockets' } });
    expect(over.headers['retry-after']).toBeDefined();
    first.ws.close();
    await first.closed;
    await eventually(async () => {
      const again = await connect(wsUrl(t));
      again.ws.close();
    });
    expect(sample(await metrics(t), 'storegw_websocket_upgrades_total{route="bus",outcome="over_capacity"}')).toBeGreaterThanOrEqual(1);
  });

  it('answers 504 when the ERP does not answer the upgrade in time, and a till hanging up mid-handshake frees its slot', async () => {
    const erp = await sim();
    const t = await gateway(gatewayYaml(erp.url, ROUTES.replace('timeoutMs: 5000\n    websocket: true', 'timeoutMs: 300\n    websocket: true'), { gateway: '  limits: { maxWebSockets: 1 }' }));
    erp.setBehavior({ mode: 'hang', pathPrefix: '/websocket' });
    expect(await refused(wsUrl(t))).toMatchObject({ status: 504, body: { error: 'upstream_timeout' } });

    const impatient = new WebSocket(wsUrl(t));
    impatient.on('error', () => undefined);
    await eventually(() => expect(erp.received()).toBe(2));
    impatient.terminate();
    erp.setBehavior({ mode: 'ok' });
    await eventually(async () => {
      const c = await connect(wsUrl(t));
      c.ws.close();
    });
    const m = await metrics(t);
    expect(sample(m, 'storegw_websocket_upgrades_total{route="bus",outcome="upstream_timeout"}')).toBe(1);
    expect(sample(m, 'storegw_websocket_upgrades_total{route="bus",outcome="client_gone"}')).toBe(1);
  });

  it('answers 503 at once when no path is up, and the ERP answer to a refused upgrade reaches the client as it was', async () => {
    const erp = await sim();
    const t = await gateway(
      gatewayYaml(erp.url, ROUTES, { extra: 'link: { downAfter: 2, upAfter: 3 }' }).replace(`baseUrl: ${erp.url}`, `baseUrl: ${erp.url}\n    ${probe(erp.url)}`),
    );
    // The ERP itself refuses (e.g. Odoo outdated bus version): its status comes back, the path stays UP.
    erp.setBehavior({ mode: 'fail', status: 403, pathPrefix: '/websocket' });
    const fromErp = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl(t));
      ws.on('error', () => undefined);
      ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
    });
    expect(fromErp).toBe(403);

    erp.setBehavior({ mode: 'fail', pathPrefix: '/ping' });
    await eventually(async () => expect((await pathStates(t)).fiber).toBe('down'), 5000, 20);
    const down = await refused(wsUrl(t));
    expect(down).toMatchObject({ status: 503, body: { error: 'upstream_unavailable' } });
    expect(down.headers['retry-after']).toBeDefined();
    expect(down.ms).toBeLessThan(500);
    const m = await metrics(t);
    expect(sample(m, 'storegw_websocket_upgrades_total{route="bus",outcome="unavailable"}')).toBe(1);
    expect(sample(m, 'storegw_websocket_upgrades_total{route="bus",outcome="upstream_refused"}')).toBe(1);
  });

  it('closes the sessions of a path that goes DOWN with 1012, and the reconnect goes through the other path', async () => {
    const fiberErp = await sim();
    const lteErp = await sim();
    const t = await gateway(twoPaths(fiberErp, lteErp));
    await eventually(async () => expect(await pathStates(t)).toEqual({ fiber: 'up', lte: 'up' }));

    const c = await connect(wsUrl(t));
    expect(c.headers['x-gateway-path']).toBe('fiber');
    subscribe(c);
    await eventually(() => expect(fiberErp.busConnections()).toBe(1));

    // The fiber's ingress stops answering probes; the bus socket itself is still open upstream.
    fiberErp.setBehavior({ mode: 'fail', pathPrefix: '/ping' });
    const { code, reason } = await c.closed;
    expect(code).toBe(1012);
    expect(reason).toBe('uplink down');
    expect((await pathStates(t)).fiber).toBe('down');
    await eventually(() => expect(fiberErp.busConnections()).toBe(0));
    expect(t.logs()).toMatch(/its WebSocket sessions were closed/);

    // What Odoo's bus worker does next: reconnect and subscribe again.
    const again = await connect(wsUrl(t));
    expect(again.headers['x-gateway-path']).toBe('lte');
    subscribe(again);
    await eventually(() => expect(lteErp.busConnections()).toBe(1));
    const pushed = lteErp.notify(CHANNEL, 'ORDER_SYNC', { order: 9 });
    await eventually(() => expect(again.messages).toEqual([[pushed]]));
    const m = await metrics(t);
    expect(sample(m, 'storegw_websocket_sessions{path="fiber"}')).toBe(0);
    expect(sample(m, 'storegw_websocket_sessions{path="lte"}')).toBe(1);
  });

  it('closes its sessions with 1001 when the gateway shuts down', async () => {
    const erp = await sim();
    const t = await startTestGateway(gatewayYaml(erp.url, ROUTES));
    const c = await connect(wsUrl(t));
    await eventually(() => expect(erp.busConnections()).toBe(1));
    const started = performance.now();
    await t.close();
    expect(performance.now() - started).toBeLessThan(3000);
    expect((await c.closed).code).toBe(1001);
    await eventually(() => expect(erp.busConnections()).toBe(0));
  });
});
