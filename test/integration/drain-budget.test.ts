// A region's drain budget over real sockets: a real hub with
// regions.north.drainBudgetPerSec, real gateways (journal, replay, fleet agent)
// with backlogs against one ERP simulator, replay released at every store at
// once. The ERP must see the region's backlog arrive within the budget, every
// store must finish, none must wait for the others; and with the hub gone the
// gateways must be back at their own rate once their grants lapse.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import type { RegionDrainView } from '../../src/fleet/hub/drain-budget.js';
import { startHub, type RunningHub } from '../../src/fleet/hub/server.js';
import { createLogger } from '../../src/log.js';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { gatewayYaml, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { eventually, posOrderBody, posOrdersRoute } from '../support/pos.js';
import { peak } from '../support/peak.js';

const OPS_TOKEN = 'ops-token-0123456789abcdef';
const tokenOf = (id: string) => `token-of-${id}-0123456789`;
/** Each store's own rate: well above its share of the budget, so only the budget holds it back. */
const OWN_RATE = 40;
const STORES = ['n-1', 'n-2', 'n-3', 'n-4'];

let erp: ErpSimulator | undefined;
let hub: { hub: RunningHub; dir: string; closed?: boolean } | undefined;
let gateways: TestGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  if (hub && !hub.closed) await hub.hub.close();
  if (hub) rmSync(hub.dir, { recursive: true, force: true });
  await erp?.close();
  gateways = [];
  hub = erp = undefined;
});

async function startRegionHub(budgetPerSec: number, leaseMs: number): Promise<{ hub: RunningHub; dir: string }> {
  const dir = tempDir('storegw-hub-');
  writeFileSync(join(dir, 'gateway-tokens.yaml'), STORES.map((id) => `${id}: ${tokenOf(id)}`).join('\n') + '\n', { mode: 0o600 });
  writeFileSync(join(dir, 'ops.token'), OPS_TOKEN + '\n', { mode: 0o600 });
  writeFileSync(
    join(dir, 'hub.yaml'),
    `version: 1
listen: { host: 127.0.0.1, port: 0 }
store: { path: ./hub.db, flushIntervalMs: 50 }
auth:
  gatewayTokensFile: gateway-tokens.yaml
  opsTokens: [ { tokenFile: ops.token, role: operator } ]
connections: { heartbeatIntervalMs: 500 }
regions:
  north: { drainBudgetPerSec: ${budgetPerSec} }
drain: { grantLeaseMs: ${leaseMs} }
`,
  );
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  return { hub: await startHub(loadHubConfig(join(dir, 'hub.yaml')), createLogger({ level: 'info', destination: quiet })), dir };
}

async function startStore(id: string, erpUrl: string, hubUrl: string): Promise<TestGateway> {
  const yaml = gatewayYaml(erpUrl, posOrdersRoute(800, 'none'), {
    extra: `replay: { ratePerSec: ${OWN_RATE}, concurrency: 4, backoff: { baseMs: 20, maxMs: 200 }, maxServerErrorAttempts: 1000 }
fleet:
  hubUrl: ${hubUrl.replace('http', 'ws')}/v1/gateways/connect
  tokenFile: fleet.token
  telemetryIntervalMs: 200
  heartbeatIntervalMs: 500
  reconnect: { baseMs: 50, maxMs: 400 }`,
  }).replace('store: { id: store-test, region: test }', `store: { id: ${id}, region: north }`);
  return startTestGateway(yaml, { 'fleet.token': `${tokenOf(id)}\n` });
}

async function admin(g: TestGateway, method: 'GET' | 'POST', path: string): Promise<any> {
  const res = await request(`${g.gw.adminUrl}${path}`, { method });
  return res.statusCode === 204 ? undefined : res.body.json();
}

async function regionView(h: RunningHub): Promise<RegionDrainView> {
  const res = await request(`${h.url}/v1/fleet/overview`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
  const body = (await res.body.json()) as { regions: RegionDrainView[] };
  return body.regions.find((r) => r.region === 'north')!;
}

/** Journals `n` orders of a store while the ERP fails them, replay paused: its backlog. */
async function backlog(g: TestGateway, store: string, n: number): Promise<void> {
  await admin(g, 'POST', '/v1/replay/pause');
  for (let i = 0; i < n; i++) {
    const res = await request(`${g.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: posOrderBody(`${store}-${i}`) });
    expect(res.statusCode).toBe(202);
    await res.body.dump();
  }
}

async function region(budgetPerSec: number, leaseMs: number, sizes: number[]) {
  erp = await startErpSimulator();
  erp.setBehavior({ mode: 'fail', status: 503 });
  hub = await startRegionHub(budgetPerSec, leaseMs);
  const h = hub.hub;
  gateways = await Promise.all(STORES.map((id) => startStore(id, erp!.url, h.url)));
  await Promise.all(gateways.map((g, i) => backlog(g, STORES[i]!, sizes[i]!)));
  const total = sizes.reduce((a, b) => a + b, 0);
  // The hub has every store's backlog (from telemetry) and has granted shares of the budget.
  await eventually(async () => expect(await regionView(h)).toMatchObject({ stores: STORES.length, backlogged: STORES.length, pending: total }), 10_000);
  for (const g of gateways) await eventually(async () => expect((await admin(g, 'GET', '/v1/status')).replay.grant).not.toBeNull(), 5000);
  erp.setBehavior({ mode: 'ok' });
  return { h, total };
}

const commitsOf = (e: ErpSimulator, store: string) => e.commits().filter((c) => c.uuid?.startsWith(`${store}-`));

// Four gateways and a hub start per test: on two loaded cores that alone can take most of the default 30 s.
describe('region drain budget', { timeout: 90_000 }, () => {
  it('keeps the ERP within the region budget while every store drains, and none waits for the others', async () => {
    const BUDGET = 30;
    const sizes = [60, 45, 30, 15];
    const { h, total } = await region(BUDGET, 3000, sizes);
    const granted = await Promise.all(gateways.map(async (g) => (await admin(g, 'GET', '/v1/status')).replay));
    expect(granted.reduce((sum, r) => sum + r.grant.ratePerSec, 0)).toBeLessThanOrEqual(BUDGET);
    for (const r of granted) expect(r.ratePerSec).toBe(r.grant.ratePerSec);

    const released = Date.now();
    await Promise.all(gateways.map((g) => admin(g, 'POST', '/v1/replay/resume')));
    await eventually(() => expect(erp!.commits().length).toBe(total), 30_000, 100);
    const times = erp!.commits().map((c) => c.receivedAt);
    const elapsedS = (Math.max(...times) - released) / 1000;

    // The tolerance: a store's token bucket holds at most one second of its
    // share (it fills while replay waits), and the shares add up to no more
    // than the budget. So any T seconds see at most (T + 1) seconds of the
    // budget: two-second windows at most three, the whole drain at most one
    // more second's worth. (Under load the drain is only slower, never faster.)
    expect(peak(times, 2000)).toBeLessThanOrEqual(3 * BUDGET);
    expect(total).toBeLessThanOrEqual(BUDGET * (elapsedS + 1));
    // Every store made progress from the start, and all of them finished.
    for (const store of STORES) {
      const mine = commitsOf(erp!, store);
      expect(mine.length).toBe(sizes[STORES.indexOf(store)]);
      expect(Math.min(...mine.map((c) => c.receivedAt)) - released).toBeLessThan(3000);
    }
    await eventually(async () => expect(await regionView(h)).toMatchObject({ backlogged: 0, pending: 0 }), 5000);
    expect((await regionView(h)).grantedPerSec).toBeLessThanOrEqual(BUDGET);
  });

  it('falls back to each gateway\'s own rate once the hub is gone and the grants lapse', async () => {
    const BUDGET = 4;
    const { h } = await region(BUDGET, 1000, [150, 150, 150, 150]);
    await Promise.all(gateways.map((g) => admin(g, 'POST', '/v1/replay/resume')));
    await new Promise((r) => setTimeout(r, 1000));
    const beforeHubGone = erp!.commits().length;
    expect(beforeHubGone).toBeLessThanOrEqual(3 * BUDGET);

    await h.close();
    hub!.closed = true;
    for (const g of gateways) {
      await eventually(async () => expect((await admin(g, 'GET', '/v1/status')).replay).toMatchObject({ grant: null, ratePerSec: OWN_RATE, ownRatePerSec: OWN_RATE }), 5000);
    }
    const from = erp!.commits().length;
    const at = Date.now();
    await new Promise((r) => setTimeout(r, 2000));
    const rate = (erp!.commits().length - from) / ((Date.now() - at) / 1000);
    // Four stores at their own 40/s each; even a loaded machine does far more than the budget of 4/s.
    expect(rate).toBeGreaterThan(5 * BUDGET);
  });
});
