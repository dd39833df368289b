// A backlog that expires, end to end over real sockets: a real gateway
// (journal, housekeeping, fleet agent) whose ERP refuses every write, with a
// max age of seconds, reporting to a real hub. As the oldest pending order
// ages, the hub must hear of each expiry warning once (at each configured
// fraction of the max age) and show it for the gateway; then of the expiry itself as
// one event (the count, the receipts with route and reason); then of the
// warning cleared, the backlog gone. The gateway's metrics give the alert
// rules (StoregwJournalNearExpiry) what they compute the share from. Entries
// that expire while the gateway is off are reported once it is back.
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import { loadGatewayConfig } from '../../edge-config/load.js';
import { JournalStore } from '../../sync/journal-store.js';
import { startGateway } from '../../src/app/gateway.js';
import { startHub, type RunningHub } from '../../src/fleet/hub/server.js';
import type { EventRecord } from '../../src/fleet/hub/store/events.js';
import { createLogger } from '../../src/log.js';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { gatewayYaml, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { eventually, posOrderBody, posOrdersRoute } from '../support/pos.js';

const OPS_TOKEN = 'ops-token-0123456789abcdef';
const STORE = 'store-expiry';
const GW_TOKEN = `token-of-${STORE}-0123456789`;
/** 18 s; housekeeping looks once a second (its floor) at a max age this short. */
const MAX_AGE_HOURS = 0.005;
const MAX_AGE_S = MAX_AGE_HOURS * 3600;
/** Warnings at 7.2 s and 13.5 s: seconds apart, and from the expiry, so that a pass late on a loaded machine still sees each. */
const WARNINGS = [0.4, 0.75];

let erp: ErpSimulator | undefined;
let hub: { hub: RunningHub; dir: string } | undefined;
let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  await hub?.hub.close();
  if (hub) rmSync(hub.dir, { recursive: true, force: true });
  await erp?.close();
  gw = hub = erp = undefined;
});

async function startTestHub(): Promise<{ hub: RunningHub; dir: string }> {
  const dir = tempDir('storegw-hub-');
  writeFileSync(join(dir, 'gateway-tokens.yaml'), `${STORE}: ${GW_TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'ops.token'), `${OPS_TOKEN}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'hub.yaml'),
    `version: 1
listen: { host: 127.0.0.1, port: 0 }
store: { path: ./hub.db, flushIntervalMs: 50 }
auth:
  gatewayTokensFile: gateway-tokens.yaml
  opsTokens: [ { tokenFile: ops.token, role: viewer } ]
connections: { heartbeatIntervalMs: 500 }
`,
  );
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  return { hub: await startHub(loadHubConfig(join(dir, 'hub.yaml')), createLogger({ level: 'info', destination: quiet })), dir };
}

async function hubApi(h: RunningHub, path: string): Promise<any> {
  const res = await request(`${h.url}${path}`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
  expect(res.statusCode, path).toBe(200);
  return res.body.json();
}

const gatewayEvents = async (h: RunningHub, since: number): Promise<EventRecord[]> =>
  ((await hubApi(h, `/v1/gateways/${STORE}/events?since=${since}`)) as { events: EventRecord[] }).events.filter((e) => e.source === 'gateway');

/** A store whose ERP refuses every write for now (retried later): its orders stay pending until they expire. */
async function startStore(buffer: string): Promise<{ h: RunningHub; g: TestGateway }> {
  erp = await startErpSimulator();
  erp.setBehavior({ mode: 'fail', status: 503 });
  hub = await startTestHub();
  const h = hub.hub;
  const yaml = gatewayYaml(erp.url, posOrdersRoute(300), {
    buffer,
    extra: `replay: { ratePerSec: 50, concurrency: 2, backoff: { baseMs: 50, maxMs: 200 } }
fleet:
  hubUrl: ${h.url.replace('http', 'ws')}/v1/gateways/connect
  tokenFile: fleet.token
  telemetryIntervalMs: 200
  heartbeatIntervalMs: 500
  reconnect: { baseMs: 50, maxMs: 400 }`,
  }).replace('store: { id: store-test, region: test }', `store: { id: ${STORE}, region: test }`);
  gw = await startTestGateway(yaml, { 'fleet.token': `${GW_TOKEN}\n` });
  await eventually(async () => expect(await hubApi(h, `/v1/gateways/${STORE}`)).toMatchObject({ online: true }), 10_000);
  return { h, g: gw };
}

/** Journals `n` orders (202: held); their receipts. */
async function orders(g: TestGateway, n: number): Promise<string[]> {
  const receipts: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await request(`${g.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: posOrderBody(`expiry-${i}`) });
    expect(res.statusCode).toBe(202);
    receipts.push(...String(res.headers['x-gateway-receipt']).split(', '));
    await res.body.dump();
  }
  expect(receipts).toHaveLength(n);
  return receipts;
}

describe('a backlog that expires, at the hub', { timeout: 60_000 }, () => {
  it('raises each expiry warning once, then one event for the entries expired, then clears the warning; the hub shows each', async () => {
    const { h, g } = await startStore(`{ path: ./journal.db, maxAgeHours: ${MAX_AGE_HOURS}, expiryWarnings: [${WARNINGS.join(', ')}] }`);
    const since = Date.now();
    const receipts = await orders(g, 3);

    // Past the second fraction: the hub has both warnings and shows the one in force.
    await eventually(async () => expect((await gatewayEvents(h, since)).map((e) => e.event)).toContain('journal.near_expiry'), 15_000, 100);
    await eventually(
      async () => {
        const overview = await hubApi(h, '/v1/fleet/overview');
        expect(overview.gateways.find((x: { id: string }) => x.id === STORE).queue).toMatchObject({ pending: 3, maxAgeS: MAX_AGE_S, expiryWarning: 0.75 });
      },
      15_000,
      100,
    );
    const metrics = await (await request(`${g.gw.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(new RegExp(`^storegw_journal_max_age_seconds ${MAX_AGE_S}$`, 'm'));

    // The max age passed: the entries are dead letters, told as one event; the warning clears.
    await eventually(async () => expect((await gatewayEvents(h, since)).map((e) => e.event)).toContain('journal.near_expiry_cleared'), 20_000, 100);
    const events = await gatewayEvents(h, since);
    // One event a housekeeping pass: orders journaled a few hundred ms apart can straddle two passes.
    const passes = events.filter((e) => e.event === 'journal.expired');
    expect(events.filter((e) => e.event !== 'journal.expired').map((e) => [e.event, e.details.fraction])).toEqual([
      ['journal.near_expiry', 0.4],
      ['journal.near_expiry', 0.75],
      ['journal.near_expiry_cleared', 0.75],
    ]);
    expect(events.findIndex((e) => e.event === 'journal.expired')).toBe(2);
    expect(passes.length).toBeLessThanOrEqual(3);
    const expired = passes.map((e) => e.details as { count: number; maxAgeHours: number; entries: { receipt: string; route: string; reason: string }[] });
    for (const pass of expired) expect(pass).toMatchObject({ count: pass.entries.length, maxAgeHours: MAX_AGE_HOURS });
    const entries = expired.flatMap((pass) => pass.entries);
    expect(entries.map((e) => e.receipt).sort()).toEqual([...receipts].sort());
    for (const e of entries) expect(e).toMatchObject({ route: 'pos-orders', reason: expect.stringMatching(/^expired/) });
    for (const e of events.filter((x) => x.event.startsWith('journal.near_expiry'))) expect(e.details).toMatchObject({ maxAgeS: MAX_AGE_S, oldestAgeS: expect.any(Number), pending: expect.any(Number) });
    await eventually(
      async () => {
        const overview = await hubApi(h, '/v1/fleet/overview');
        expect(overview.gateways.find((x: { id: string }) => x.id === STORE).queue).toMatchObject({ pending: 0, dead: 3, expiryWarning: null });
      },
      5000,
      100,
    );
    // The gateway's log says it too, for a store without a hub.
    expect(g.logs()).toMatch(/the oldest pending journal entry is past 75 % of buffer.maxAgeHours/);
    expect(g.logs()).toMatch(/journal entries expired and became dead letters/);
  });

  it('reports the entries that expired while the gateway was off, once it is back', async () => {
    const maxAgeHours = 0.002;
    const { h, g } = await startStore(`{ path: ./journal.db, maxAgeHours: ${maxAgeHours}, expiryWarnings: [] }`);
    const since = Date.now();
    const receipts = await orders(g, 2);
    // Off before they expire (7.2 s), back after: the first housekeeping pass at start expires them.
    await g.gw.close();
    await eventually(async () => expect((await hubApi(h, `/v1/gateways/${STORE}`)).online).toBe(false), 5000, 50);
    expect((await gatewayEvents(h, since)).map((e) => e.event)).toEqual([]);
    await new Promise((r) => setTimeout(r, Math.max(0, since + maxAgeHours * 3_600_000 + 500 - Date.now())));
    const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
    const again = await startGateway(loadGatewayConfig(g.configFile), createLogger({ level: 'info', destination: quiet }));
    try {
      await eventually(async () => expect((await gatewayEvents(h, since)).map((e) => e.event)).toEqual(['journal.expired']), 10_000, 100);
      const [expired] = await gatewayEvents(h, since);
      expect(expired!.details).toMatchObject({ count: 2, maxAgeHours });
      expect((expired!.details.entries as { receipt: string }[]).map((e) => e.receipt).sort()).toEqual([...receipts].sort());
    } finally {
      await again.close();
    }
  });

  it('reports the attempts that were under way when the gateway stopped as unknown outcomes, once it is back', async () => {
    const { h, g } = await startStore('{ path: ./journal.db }');
    const since = Date.now();
    await g.gw.close();
    await eventually(async () => expect((await hubApi(h, `/v1/gateways/${STORE}`)).online).toBe(false), 5000, 50);
    // What a gateway killed during a picking validation (an ERP that does not dedupe) leaves in its journal.
    const journal = JournalStore.open(join(g.dir, 'journal.db'), 1e9);
    const receipt = randomUUID();
    journal.appendBatch([{ receipt, idemKey: 'validate-9', route: 'picking-validate', cls: 'interactive', priority: 1, orderingKey: null, method: 'POST', target: '/web/dataset/call_kw', headers: {}, body: Buffer.from('{}') }]);
    journal.write([{ op: 'begin', receipt }]);
    journal.close();
    const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
    const again = await startGateway(loadGatewayConfig(g.configFile), createLogger({ level: 'info', destination: quiet }));
    try {
      await eventually(async () => expect((await gatewayEvents(h, since)).map((e) => e.event)).toEqual(['unknown_outcome']), 10_000, 100);
      const [unknown] = await gatewayEvents(h, since);
      expect(unknown!.details).toMatchObject({ receipt, route: 'picking-validate', cls: 'interactive', attempts: 1, reason: expect.stringMatching(/^interrupted/) });
    } finally {
      await again.close();
    }
  });
});
