// The fleet agent over real sockets: a real gateway (journal, replay, link
// monitor, reload) dialling a fake hub that checks its token, records what it
// sends and sends it commands; and, for writes whose outcome is unknown (which
// a real gateway shows only against an ERP that loses answers) and bursts of
// dead letters, the agent on a fake gateway host with an in-memory journal.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BATCH_EXAMPLES, MAX_FRAME_BYTES, type EventMessage, type HelloMessage, type TelemetryMessage } from '../../src/fleet/protocol.js';
import { loadGatewayConfig } from '../../edge-config/load.js';
import { FleetAgent } from '../../src/fleet/agent/agent.js';
import { PER_WINDOW } from '../../src/fleet/agent/entry-events.js';
import { packageVersion } from '../../src/fleet/agent/version.js';
import { createLogger } from '../../src/log.js';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { FakeAgentHost } from '../support/fake-gateway.js';
import { gatewayYaml, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { eventually, posOrderBody, posOrdersRoute } from '../support/pos.js';

const TOKEN = 'gw-token-3f9a1c0e7b2d4a68';
const ROUTES = `${posOrdersRoute(800)}
  - name: everything-else
    match: { path: /* }
    class: normal`;
const FAST_REPLAY = 'replay: { ratePerSec: 200, concurrency: 4, backoff: { baseMs: 20, maxMs: 200 }, maxServerErrorAttempts: 2 }';
const TELEMETRY_MS = 200;
const HEARTBEAT_MS = 300;

let erp: ErpSimulator | undefined;
let hub: FakeHub | undefined;
let t: TestGateway | undefined;
afterEach(async () => {
  // Whatever happened, the token never reached the log.
  if (t) expect(t.logs()).not.toContain(TOKEN);
  if (hub) expect(hub.invalid).toEqual([]);
  await t?.close();
  await hub?.stop();
  await erp?.close();
  t = hub = erp = undefined;
});

function fleetSection(hubUrl: string): string {
  return `fleet:
  hubUrl: ${hubUrl}
  tokenFile: fleet.token
  telemetryIntervalMs: ${TELEMETRY_MS}
  heartbeatIntervalMs: ${HEARTBEAT_MS}
  reconnect: { baseMs: 50, maxMs: 400 }
  configGraceMs: 500`;
}

/** The probe `start({ probed: true })` gives the path. */
const probeOf = (url: string) => `probe: { url: "${url}/ping", intervalMs: 100, timeoutMs: 100 }`;

async function start(opts: { token?: string; buffer?: string; probed?: boolean } = {}): Promise<{ erp: ErpSimulator; hub: FakeHub; t: TestGateway }> {
  erp = await startErpSimulator();
  hub = await startFakeHub({ token: TOKEN });
  let yaml = gatewayYaml(erp.url, ROUTES, { extra: `${FAST_REPLAY}\n${fleetSection(hub.url)}`, ...(opts.buffer !== undefined && { buffer: opts.buffer }) });
  if (opts.probed) yaml = yaml.replace(`baseUrl: ${erp.url}`, `baseUrl: ${erp.url}\n    ${probeOf(erp.url)}`);
  t = await startTestGateway(yaml, {
    'fleet.token': `${opts.token ?? TOKEN}\n`,
  });
  return { erp, hub, t };
}

async function adminStatus(g: TestGateway) {
  return (await (await request(`${g.gw.adminUrl}/v1/status`)).body.json()) as {
    configVersion: string;
    replay: { paused: boolean; ratePerSec: number; ownRatePerSec: number; grant: { ratePerSec: number; remainingMs: number } | null };
    queue: { dead: number };
  };
}

async function sendOrder(g: TestGateway, uuid: string) {
  const res = await request(`${g.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: posOrderBody(uuid) });
  return { status: res.statusCode, body: (await res.body.json()) as { receipt: string } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isHello = (m: { type: string }) => m.type === 'hello';
const isEvent = (name: string) => (m: { type: string }) => m.type === 'event' && (m as EventMessage).event === name;
const telemetry = (h: FakeHub) => h.messages.filter((m): m is TelemetryMessage => m.type === 'telemetry');

describe('fleet agent: connection', () => {
  it('keeps retrying a refused token at the cap, says so once, and connects once the token is right', async () => {
    const { hub, t } = await start({ token: 'not-the-right-token-0000' });
    await eventually(() => expect(hub.refused()).toBeGreaterThanOrEqual(3), 5000);
    expect(t.logs().match(/the hub refused this gateway's token/g)).toHaveLength(1);
    expect(hub.accepted()).toBe(0);
    // The token file is read at every dial: fixing it is enough.
    writeFileSync(`${t.dir}/fleet.token`, `${TOKEN}\n`, { mode: 0o600 });
    await hub.waitFor(isHello, { timeoutMs: 5000 });
    expect(t.logs()).toMatch(/connected to the fleet hub/);
  });

  it('says hello with the store, the version, the running configuration and the paths', async () => {
    const { hub, t } = await start();
    const hello = await hub.waitFor<HelloMessage>(isHello);
    expect(hello).toMatchObject({
      store: { id: 'store-test', region: 'test', tags: [] },
      version: packageVersion(),
      configVersion: t.gw.configVersion(),
      // The test gateway's path has no probe nor WireGuard interface: nothing judges it.
      paths: [{ name: 'fiber', state: 'unknown' }],
    });
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('sends telemetry at the interval, with the requests since the previous one', async () => {
    const { hub, t } = await start();
    await hub.waitFor(isHello);
    const since = hub.messages.length;
    const echo = await request(`${t.gw.url}/_sim/echo`);
    await echo.body.dump();
    const withRequest = await hub.waitFor<TelemetryMessage>((m) => m.type === 'telemetry' && (m as TelemetryMessage).requests.normal?.forwarded === 1, { since });
    expect(withRequest).toMatchObject({ configVersion: t.gw.configVersion(), paths: [{ name: 'fiber', state: 'unknown' }], queue: { pending: 0, dead: 0 } });
    await eventually(() => expect(telemetry(hub).length).toBeGreaterThanOrEqual(6), 5000);
    // The first is sent right after hello (the hub shares drain budgets by backlog); the interval runs from the agent's start.
    const ts = telemetry(hub)
      .slice(1)
      .map((m) => m.ts);
    const gaps = ts.slice(1).map((v, i) => v - ts[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(TELEMETRY_MS - 20);
    expect(gaps.reduce((a, b) => a + b, 0) / gaps.length).toBeLessThan(TELEMETRY_MS * 2);
    // Counted once: the telemetry after it has no requests.
    expect(telemetry(hub).filter((m) => m.requests.normal?.forwarded)).toHaveLength(1);
  });

  it('drops a hub that stops answering pings within two intervals, and dials again', async () => {
    const { hub, t } = await start();
    await hub.waitFor(isHello);
    const since = hub.messages.length;
    hub.answerPings(false);
    const silentAt = Date.now();
    await eventually(() => expect(t.logs()).toMatch(/did not answer a ping in time/), 5000, 10);
    expect(Date.now() - silentAt).toBeLessThan(2 * HEARTBEAT_MS + 250);
    hub.answerPings(true);
    await hub.waitFor(isHello, { since, timeoutMs: 5000 });
    expect(hub.accepted()).toBeGreaterThanOrEqual(2);
  });

  it('spools telemetry through a hub outage and sends it after, oldest first, marked spooled, with the times it was taken', async () => {
    const { hub, t } = await start();
    await hub.waitFor(isHello);
    await hub.stop();
    const down = Date.now();
    await new Promise((r) => setTimeout(r, 6 * TELEMETRY_MS));
    const since = hub.messages.length;
    await hub.restart();
    const up = Date.now();
    const back = await hub.waitFor(isHello, { since, timeoutMs: 5000 });
    await eventually(() => expect(hub.messages.slice(since).filter((m) => m.type === 'telemetry' && !(m as TelemetryMessage).spooled).length).toBeGreaterThanOrEqual(2), 5000);
    // The spool drains on its own tick after hello: live samples can come first.
    await eventually(() => expect(telemetry(hub).filter((m) => m.spooled).length).toBeGreaterThanOrEqual(4), 5000);
    const spooled = telemetry(hub).filter((m) => m.spooled);
    const ts = spooled.map((m) => m.ts);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    expect(new Set(ts).size).toBe(ts.length);
    for (const v of ts) {
      expect(v).toBeGreaterThanOrEqual(down - TELEMETRY_MS);
      // Everything taken until the agent was back is spooled.
      expect(v).toBeLessThanOrEqual(back.ts);
    }
    // Taken while the hub was away, not when it came back.
    expect(ts[0]!).toBeLessThan(up - 3 * TELEMETRY_MS);
    expect(t.logs()).toMatch(/connection to the fleet hub lost/);
  });

  it('answers malformed frames with an error and keeps going', async () => {
    const { hub } = await start();
    await hub.waitFor(isHello);
    let since = hub.messages.length;
    hub.send('{"type": "command", ');
    expect(await hub.waitFor((m) => m.type === 'error', { since })).toMatchObject({ error: { code: 'malformed' } });
    since = hub.messages.length;
    hub.send(JSON.stringify({ type: 'command', id: 'bad-1', ts: 1, command: 'status' }));
    expect(await hub.waitFor((m) => m.type === 'error', { since })).toMatchObject({ re: 'bad-1', error: { code: 'invalid' } });
    since = hub.messages.length;
    hub.send(JSON.stringify({ type: 'telemetry', id: 'odd-1', ts: 1 }));
    expect(await hub.waitFor((m) => m.type === 'error', { since })).toMatchObject({ re: 'odd-1', error: { code: 'unknown_type' } });
    expect(await hub.command('launch.rockets')).toMatchObject({ ok: false, error: { code: 'unknown_command' } });
    expect(await hub.command('replay.setRate', { ratePerSec: 'fast' })).toMatchObject({ ok: false, error: { code: 'invalid_args' } });
    expect(await hub.command('status')).toMatchObject({ ok: true, result: { store: { id: 'store-test' } } });
    expect(hub.accepted()).toBe(1);
  });

  it('follows a reload: dials a new hub at once, says which fleet settings need a restart, stops when the section goes', async () => {
    const { hub, t } = await start();
    await hub.waitFor(isHello);
    const other = await startFakeHub({ token: TOKEN });
    try {
      const yaml = readFileSync(t.configFile, 'utf8');
      writeFileSync(t.configFile, yaml.replace(hub.url, other.url));
      expect(t.gw.reload()).toMatchObject({ ok: true, restartNeeded: [] });
      await other.waitFor(isHello, { timeoutMs: 5000 });
      await eventually(() => expect(hub.connected()).toBe(false));

      writeFileSync(t.configFile, yaml.replace(hub.url, other.url).replace('  configGraceMs: 500', '  configGraceMs: 500\n  spoolPath: ./elsewhere.db'));
      expect(t.gw.reload()).toMatchObject({ ok: true, restartNeeded: ['fleet.spoolPath'] });

      writeFileSync(t.configFile, yaml.slice(0, yaml.indexOf('fleet:')));
      expect(t.gw.reload()).toMatchObject({ ok: true });
      await eventually(() => expect(other.connected()).toBe(false));
      const quiet = other.messages.length;
      await new Promise((r) => setTimeout(r, 3 * TELEMETRY_MS));
      expect(other.messages.length).toBe(quiet);
    } finally {
      await other.stop();
    }
  });

  it('reports quota pressure once when the journal passes 80% of its quota', async () => {
    const { erp, hub, t } = await start({ buffer: '{ path: ./journal.db, maxBytes: 3000 }' });
    await hub.waitFor(isHello);
    erp.setBehavior({ mode: 'fail', status: 503 });
    for (let i = 0; i < 6; i++) await sendOrder(t, `order-q-${i}`);
    const pressure = await hub.waitFor<EventMessage>(isEvent('quota.pressure'));
    expect(pressure.details).toMatchObject({ maxBytes: 3000, pct: expect.any(Number) });
    expect(pressure.details.pct as number).toBeGreaterThanOrEqual(80);
    await new Promise((r) => setTimeout(r, 3 * TELEMETRY_MS));
    expect(hub.messages.filter(isEvent('quota.pressure'))).toHaveLength(1);
  });

  it('closes the connection on a frame over the size limit, and dials again', async () => {
    const { hub, t } = await start();
    await hub.waitFor(isHello);
    const since = hub.messages.length;
    hub.send(Buffer.alloc(MAX_FRAME_BYTES + 1, 0x20));
    await hub.waitFor(isHello, { since, timeoutMs: 5000 });
    expect(hub.accepted()).toBe(2);
    expect(t.logs()).toMatch(/over 1048576 bytes/);
  });
});

describe('fleet agent: commands', () => {
  it('reports its backlog right after hello, takes a drain grant below its own rate for the lease, and refuses a malformed one', async () => {
    const { hub, t } = await start();
    const hello = hub.messages.length;
    await hub.waitFor(isHello);
    // Telemetry at once, not an interval later: the hub shares a region's budget by backlog.
    const first = await hub.waitFor<TelemetryMessage>((m) => m.type === 'telemetry', { since: hello });
    expect(first.ts - (hub.messages.find(isHello) as HelloMessage).ts).toBeLessThan(TELEMETRY_MS);

    hub.send(JSON.stringify({ type: 'drain.grant', id: 'grant-1', ts: Date.now(), ratePerSec: 12.5, leaseMs: 1000 }));
    await eventually(async () => expect((await adminStatus(t)).replay).toMatchObject({ ratePerSec: 12.5, ownRatePerSec: 200, grant: { ratePerSec: 12.5 } }), 2000, 20);
    // Never above its own rate.
    hub.send(JSON.stringify({ type: 'drain.grant', id: 'grant-2', ts: Date.now(), ratePerSec: 5000, leaseMs: 1000 }));
    await eventually(async () => expect((await adminStatus(t)).replay).toMatchObject({ ratePerSec: 200, grant: { ratePerSec: 5000 } }), 2000, 20);
    // The lease ends unrenewed: the own rate again.
    await eventually(async () => expect((await adminStatus(t)).replay).toMatchObject({ ratePerSec: 200, grant: null }), 3000, 50);

    const since = hub.messages.length;
    hub.send(JSON.stringify({ type: 'drain.grant', id: 'grant-3', ts: Date.now(), ratePerSec: -1, leaseMs: 1000 }));
    expect(await hub.waitFor((m) => m.type === 'error', { since })).toMatchObject({ re: 'grant-3', error: { code: 'invalid', message: 'drain.grant: /ratePerSec: must be >= 0' } });
    expect((await adminStatus(t)).replay.grant).toBeNull();
  });

  it('sets the replay rate, pauses and resumes, each visible in /v1/status, and acts once per command id', async () => {
    const { hub, t } = await start();
    await hub.waitFor(isHello);
    expect(await hub.command('replay.setRate', { ratePerSec: 7 }, { id: 'rate-1' })).toMatchObject({ ok: true, result: { ratePerSec: 7 } });
    expect((await adminStatus(t)).replay.ratePerSec).toBe(7);
    expect(await hub.command('replay.pause')).toMatchObject({ ok: true, result: { paused: true } });
    expect((await adminStatus(t)).replay.paused).toBe(true);
    expect(await hub.command('replay.resume')).toMatchObject({ ok: true, result: { paused: false } });
    expect((await adminStatus(t)).replay.paused).toBe(false);

    // Someone changes the rate locally; the hub repeats its old command: same answer, no second act.
    const local = await request(`${t.gw.adminUrl}/v1/replay/rate`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ratePerSec: 11 }) });
    await local.body.dump();
    const first = hub.messages.find((m) => m.type === 'result' && m.re === 'rate-1');
    const repeated = await hub.command('replay.setRate', { ratePerSec: 7 }, { id: 'rate-1' });
    expect({ ok: repeated.ok, result: repeated.result }).toEqual({ ok: true, result: (first as { result: unknown }).result });
    expect((await adminStatus(t)).replay.ratePerSec).toBe(11);
    expect(await hub.command('status')).toMatchObject({ ok: true, result: { replay: { ratePerSec: 11 }, configVersion: t.gw.configVersion() } });
  });

  it('lists, retries and discards real dead letters, and reports each as an event', async () => {
    const { erp, hub, t } = await start();
    await hub.waitFor(isHello);
    erp.setBehavior({ mode: 'fail', status: 503 });
    const poison = await sendOrder(t, 'order-poison');
    expect(poison.status).toBe(202);
    erp.setBehavior({ mode: 'fail', status: 422 });
    const dead = await hub.waitFor<EventMessage>(isEvent('dead_letter'), { timeoutMs: 10_000 });
    expect(dead.details).toMatchObject({ receipt: poison.body.receipt, route: 'pos-orders', cls: 'critical', reason: 'HTTP 422' });

    const listed = await hub.command('queue.list', { state: 'dead' });
    expect(listed).toMatchObject({ ok: true, result: { state: 'dead', entries: [{ receipt: poison.body.receipt, lastError: 'HTTP 422' }] } });

    erp.setBehavior({ mode: 'ok' });
    const unknown = '00000000-0000-4000-8000-00000000dead';
    expect(await hub.command('queue.retry', { receipts: [poison.body.receipt, unknown] })).toMatchObject({
      ok: true,
      result: { results: [{ receipt: poison.body.receipt, ok: true, state: 'pending' }, { receipt: unknown, ok: false, error: 'unknown_receipt' }] },
    });
    await eventually(() => expect(erp.commits().map((c) => c.key)).toContain('order-poison'));

    erp.setBehavior({ mode: 'fail', status: 503 });
    const second = await sendOrder(t, 'order-poison-2');
    erp.setBehavior({ mode: 'fail', status: 422 });
    await eventually(async () => expect((await adminStatus(t)).queue.dead).toBe(1));
    expect(await hub.command('queue.discard', { receipts: [second.body.receipt] })).toMatchObject({ ok: true, result: { results: [{ receipt: second.body.receipt, ok: true }] } });
    expect((await adminStatus(t)).queue.dead).toBe(0);
  });
});

describe('fleet agent: config.apply', () => {
  it('applies a valid configuration, keeps it after the grace period, and reports the new version', async () => {
    const { hub, t } = await start();
    await hub.waitFor(isHello);
    const before = readFileSync(t.configFile, 'utf8');
    const oldVersion = t.gw.configVersion();
    const yaml = before.replace('ratePerSec: 200', 'ratePerSec: 33');
    const result = await hub.command('config.apply', { yaml, graceMs: 300 });
    expect(result).toMatchObject({ ok: true, result: { previousVersion: oldVersion } });
    const version = (result.result as { version: string }).version;
    expect(version).not.toBe(oldVersion);
    expect(t.gw.configVersion()).toBe(version);
    expect(readFileSync(t.configFile, 'utf8')).toBe(yaml);
    expect(readFileSync(`${t.configFile}.previous`, 'utf8')).toBe(before);
    expect((await adminStatus(t)).replay.ratePerSec).toBe(33);
    expect((await hub.waitFor<EventMessage>(isEvent('config.applied'))).details).toMatchObject({ version, previousVersion: oldVersion });
    // Telemetry from now on carries the new version.
    const since = hub.messages.length;
    await hub.waitFor((m) => m.type === 'telemetry' && (m as TelemetryMessage).configVersion === version, { since });
  });

  it('rolls back a configuration under which a path that was UP goes DOWN, and says which check failed', async () => {
    // Only a path its probes have shown UP counts: one nothing has judged yet (unknown) might never have worked.
    const { erp, hub, t } = await start({ probed: true });
    await hub.waitFor(isHello);
    await eventually(async () => expect(((await (await request(`${t.gw.adminUrl}/v1/status`)).body.json()) as { paths: unknown }).paths).toMatchObject([{ name: 'fiber', state: 'up' }]));
    const before = readFileSync(t.configFile, 'utf8');
    const oldVersion = t.gw.configVersion();
    // A wrong ingress address: the pushed config's probes find nothing there.
    const yaml = before.replace(`baseUrl: ${erp.url}\n    ${probeOf(erp.url)}`, `baseUrl: http://127.0.0.1:1\n    ${probeOf('http://127.0.0.1:1')}`);
    expect(yaml).not.toBe(before);
    const result = await hub.command('config.apply', { yaml, graceMs: 5000 });
    expect(result).toMatchObject({ ok: false, error: { code: 'rolled_back', message: expect.stringMatching(/^path_down: path fiber went DOWN/) } });
    expect(readFileSync(t.configFile, 'utf8')).toBe(before);
    expect(t.gw.configVersion()).toBe(oldVersion);
    const event = await hub.waitFor<EventMessage>(isEvent('config.rolled_back'));
    expect(event.details).toMatchObject({ check: 'path_down', restoredVersion: oldVersion });
    // The DOWN was reported as it happened.
    const down = await hub.waitFor<EventMessage>((m) => isEvent('link.state')(m) && (m as EventMessage).details.to === 'down');
    expect(down.details).toMatchObject({ path: 'fiber', to: 'down', cause: 'probe', lossPct: expect.any(Number) });
    // And the gateway forwards through the restored path again.
    const echo = await request(`${t.gw.url}/_sim/echo`);
    expect(echo.statusCode).toBe(200);
    await echo.body.dump();
  });

  it('rolls back a configuration the gateway cannot reload', async () => {
    const { hub, t } = await start();
    await hub.waitFor(isHello);
    const before = readFileSync(t.configFile, 'utf8');
    // Valid by the schema, but the admin token file is not there: the reload refuses it.
    const yaml = before.replace('  admin: { host: 127.0.0.1, port: 0 }', '  admin: { host: 127.0.0.1, port: 0, tokenFile: missing.token }');
    expect(yaml).not.toBe(before);
    expect(await hub.command('config.apply', { yaml, graceMs: 300 })).toMatchObject({ ok: false, error: { code: 'rolled_back', message: expect.stringMatching(/^reload: reload failed: .*missing\.token/) } });
    expect(readFileSync(t.configFile, 'utf8')).toBe(before);
    expect((await hub.waitFor<EventMessage>(isEvent('config.rolled_back'))).details).toMatchObject({ check: 'reload' });
  });

  it('refuses, without writing anything, an invalid configuration, one that needs a restart, and one that moves the agent off its hub', async () => {
    const { hub, t } = await start();
    await hub.waitFor(isHello);
    const before = readFileSync(t.configFile, 'utf8');
    expect(await hub.command('config.apply', { yaml: before.replace('version: 1', 'version: 2') })).toMatchObject({ ok: false, error: { code: 'invalid_config', message: expect.stringContaining('version: must be 1') } });
    // The journal cannot move under a running gateway.
    expect(await hub.command('config.apply', { yaml: before.replace('buffer: { path: ./journal.db }', 'buffer: { path: ./elsewhere/journal.db }') })).toMatchObject({
      ok: false,
      error: { code: 'restart_needed', message: expect.stringContaining('buffer') },
    });
    expect(await hub.command('config.apply', { yaml: before.replace(hub.url, 'ws://127.0.0.1:1/v1/gateways/connect') })).toMatchObject({
      ok: false,
      error: { code: 'fleet_connection', message: expect.stringContaining('fleet.hubUrl') },
    });
    expect(readFileSync(t.configFile, 'utf8')).toBe(before);
    expect(existsSync(`${t.configFile}.previous`)).toBe(false);
  });
});

describe('fleet agent: unknown outcomes and bursts of dead letters (fake gateway host)', () => {
  const A = '00000000-0000-4000-8000-0000000000a1';
  const B = '00000000-0000-4000-8000-0000000000b2';
  const C = '00000000-0000-4000-8000-0000000000c3';
  const outcome = (receipt: string) => ({ receipt, route: 'stock-barcode', cls: 'critical', reason: 'no answer within 8000 ms', attempts: 1 });
  let agent: FleetAgent | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await agent?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    agent = dir = undefined;
  });

  async function startAgent(o: { offerAcks?: boolean } = {}): Promise<{ hub: FakeHub; host: FakeAgentHost; logs: () => string }> {
    hub = await startFakeHub({ token: TOKEN, ...o });
    dir = tempDir('storegw-agent-');
    writeFileSync(join(dir, 'fleet.token'), `${TOKEN}\n`, { mode: 0o600 });
    // The host is fake: its configuration only needs to be valid and carry the fleet section.
    writeFileSync(join(dir, 'gateway.yaml'), gatewayYaml('http://127.0.0.1:1', '  - name: all\n    match: { path: /* }\n    class: normal', { extra: fleetSection(hub.url) }));
    const host = new FakeAgentHost(loadGatewayConfig(join(dir, 'gateway.yaml')));
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }) });
    agent = new FleetAgent(host, logger);
    await agent.start();
    await hub.waitFor(isHello);
    return { hub, host, logs: () => lines.join('') };
  }

  it('reports each unknown outcome as an event and the count in telemetry', async () => {
    const { hub, host } = await startAgent();
    host.unknownOutcome(outcome(A));
    host.unknownOutcome(outcome(B));
    const event = await hub.waitFor<EventMessage>(isEvent('unknown_outcome'));
    expect(event.details).toEqual(outcome(A));
    await hub.waitFor((m) => isEvent('unknown_outcome')(m) && (m as EventMessage).details.receipt === B);
    const since = hub.messages.length;
    const t = await hub.waitFor<TelemetryMessage>((m) => m.type === 'telemetry', { since });
    expect(t.queue).toMatchObject({ pending: 0, dead: 0, unknown: 2 });
  });

  it('reports a burst of dead letters one by one up to the limit, the rest as one summary, never a message each', async () => {
    const { hub, host } = await startAgent();
    const receipt = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    for (let i = 0; i < 500; i++) host.deadLetter({ receipt: receipt(i), route: 'pos-orders', cls: 'critical', reason: `ERP error: ${'x'.repeat(2000)}`, attempts: 1 });
    await eventually(() => expect(hub.messages.filter(isEvent('dead_letter'))).toHaveLength(PER_WINDOW), 5000);
    // The reason is cut to what the protocol takes (the fake hub validates every frame).
    expect((hub.messages.find(isEvent('dead_letter')) as EventMessage).details).toMatchObject({ receipt: receipt(0), reason: expect.stringMatching(/^ERP error: x{1013}$/) });
    expect(hub.messages.filter(isEvent('dead_letter.summary'))).toEqual([]);
    // The minute is not over: the agent stopping sends what it counted.
    await agent!.stop();
    agent = undefined;
    const summary = await hub.waitFor<EventMessage>(isEvent('dead_letter.summary'));
    expect(summary.details).toMatchObject({ count: 500 - PER_WINDOW, sinceTs: expect.any(Number), entries: expect.arrayContaining([expect.objectContaining({ receipt: receipt(PER_WINDOW), route: 'pos-orders' })]) });
    expect(summary.details.entries).toHaveLength(BATCH_EXAMPLES);
    expect(hub.messages.filter(isEvent('dead_letter'))).toHaveLength(PER_WINDOW);
  });

  it('keeps unknown outcomes through a hub outage and sends them after, marked spooled', async () => {
    const { hub, host, logs } = await startAgent();
    await hub.stop();
    // Once the agent knows: a message written into a connection as it dies is lost (this fake hub gives no acks; telemetry's count stands for it).
    await eventually(() => expect(logs()).toMatch(/connection to the fleet hub lost/), 5000);
    const at = Date.now();
    host.unknownOutcome(outcome(C));
    const since = hub.messages.length;
    await hub.restart();
    const event = await hub.waitFor<EventMessage>(isEvent('unknown_outcome'), { since, timeoutMs: 5000 });
    expect(event).toMatchObject({ spooled: true, details: outcome(C) });
    expect(event.ts).toBeGreaterThanOrEqual(at);
  });

  it('keeps what a hub that gives acks has not acked, and sends it again after a reconnect, marked spooled; never what it acked', async () => {
    const { hub, host } = await startAgent({ offerAcks: true });
    expect(hub.asked).toEqual(['acks']);
    const [t0, t1] = [await hub.waitFor<TelemetryMessage>((m) => m.type === 'telemetry'), await hub.waitFor<TelemetryMessage>((m) => m.type === 'telemetry' && hub.messages.indexOf(m) > 1)];
    host.unknownOutcome(outcome(A));
    const event = await hub.waitFor<EventMessage>(isEvent('unknown_outcome'));
    hub.ack([t0.id]);
    await sleep(100);
    // As a hub killed before its flush: t1 and the event were received, never committed.
    await hub.stop();
    const since = hub.messages.length;
    await hub.restart();
    const again = await hub.waitFor<EventMessage>((m) => m.id === event.id, { since, timeoutMs: 5000 });
    expect(again).toMatchObject({ spooled: true, details: outcome(A) });
    expect(await hub.waitFor((m) => m.id === t1.id, { since })).toMatchObject({ spooled: true, ts: t1.ts });
    await hub.waitFor((m) => m.type === 'telemetry' && !m.spooled, { since });
    expect(hub.messages.slice(since).filter((m) => m.id === t0.id)).toEqual([]);
  });

  it('keeps nothing for a hub that does not give acks (older than acks): each message is sent once', async () => {
    const { hub } = await startAgent();
    expect(hub.asked).toEqual(['acks']);
    await hub.waitFor((m) => m.type === 'telemetry' && hub.messages.indexOf(m) > 2);
    await hub.stop();
    const since = hub.messages.length;
    await hub.restart();
    await hub.waitFor((m) => m.type === 'telemetry' && hub.messages.indexOf(m) > since + 2, { timeoutMs: 5000 });
    const ids = hub.messages.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(hub.messages.slice(since).filter((m) => m.type === 'telemetry' && m.spooled)).toEqual([]);
  });

  it('lists unknown entries and settles them as the hub says, with who decided, then wakes replay', async () => {
    const { hub, host, logs } = await startAgent();
    for (const r of [A, B, C]) host.unknownOutcome(outcome(r));
    const listed = await hub.command('queue.list', { state: 'unknown' });
    expect(listed).toMatchObject({ ok: true, result: { state: 'unknown' } });
    expect((listed.result as { entries: { receipt: string; state: string }[] }).entries.map((e) => [e.receipt, e.state])).toEqual([
      [A, 'unknown'],
      [B, 'unknown'],
      [C, 'unknown'],
    ]);

    const retried = await hub.command('queue.settle', { receipts: [A], as: 'retry', by: 'ops-alice' });
    expect(retried).toMatchObject({ ok: true, result: { results: [{ receipt: A, ok: true, state: 'pending' }] } });
    expect(host.entries.get(A)).toMatchObject({ state: 'pending', settledBy: 'ops-alice', settledAt: expect.any(Number) });
    expect(host.wakes).toBe(1);

    const none = '00000000-0000-4000-8000-00000000dead';
    const delivered = await hub.command('queue.settle', { receipts: [B, A, none], as: 'delivered', by: 'ops-bob' });
    expect(delivered).toMatchObject({
      ok: true,
      result: {
        results: [
          { receipt: B, ok: true, state: 'delivered' },
          { receipt: A, ok: false, state: 'pending', error: 'not_unknown' },
          { receipt: none, ok: false, error: 'unknown_receipt' },
        ],
      },
    });
    expect(host.entries.get(B)).toMatchObject({ state: 'delivered', settledBy: 'ops-bob' });
    expect(host.wakes).toBe(2);
    expect(await hub.command('queue.settle', { receipts: [C], as: 'retry' })).toMatchObject({ ok: false, error: { code: 'invalid_args' } });
    expect(host.entries.get(C)?.state).toBe('unknown');
    expect(logs()).toMatch(/unknown outcomes settled by the fleet hub/);
    // The next telemetry counts what is left.
    const since = hub.messages.length;
    expect((await hub.waitFor<TelemetryMessage>((m) => m.type === 'telemetry', { since })).queue.unknown).toBe(1);
  });
});
