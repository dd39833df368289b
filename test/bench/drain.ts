// A region coming back after an outage (issue #17): 50 real gateways (journal,
// replay, link monitor, fleet agent; in this process) of one region, their
// uplinks through one WAN relay to one ERP simulator (a process of its own),
// and a real hub. The WAN is dropped, every store journals a backlog (the
// stores that lost the link first have the larger and older ones), the hub
// hears of them, and the WAN comes back for all at once. Measured: the peak
// rate the ERP sees against the region's budget, the time until every backlog
// is drained, and fairness (the spread of the stores' drain times). The peer
// in the same run: the same region without a budget, each store at its own
// rate. A benchmark reports; it asserts nothing.
//
// STOREGW_BENCH_DRAIN_STORES=50        stores in the region
// STOREGW_BENCH_DRAIN_BUDGET=150       the region's drainBudgetPerSec
// STOREGW_BENCH_DRAIN_TELEMETRY_MS=N   the agents' telemetry interval (default 5000; theirs is 10 s)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { loadGatewayConfig } from '../../edge-config/load.js';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import { startGateway, type RunningGateway } from '../../src/app/gateway.js';
import { WanRelay } from '../../src/demo/wan-relay.js';
import type { RegionDrainView } from '../../src/fleet/hub/drain-budget.js';
import { startHub, type RunningHub } from '../../src/fleet/hub/server.js';
import { createLogger } from '../../src/log.js';
import type { SimOrder } from '../../src/sim/erp-simulator.js';
import { posOrderBody, posOrdersRoute } from '../support/pos.js';
import { listeningLine, spawnNode, type Peer } from './harness.js';
import type { BenchSection, SectionReport } from './section.js';
import { num, type Table } from './table.js';
import { peak } from '../support/peak.js';

const STORES = Number(process.env.STOREGW_BENCH_DRAIN_STORES ?? 50);
const BUDGET = Number(process.env.STOREGW_BENCH_DRAIN_BUDGET ?? 150);
/** Shorter than the agents' default: the bench waits for the hub to have every backlog before the WAN comes back. */
const TELEMETRY_MS = Number(process.env.STOREGW_BENCH_DRAIN_TELEMETRY_MS ?? 5000);
/** Backlogs of 10 to 50 entries (1500 for 50 stores): about a second of each store's own 50/s, ten of the budget. */
const backlogOf = (i: number) => 10 + (i % 5) * 10;
const LARGEST = 50;
/** Between rounds of journaled writes: a store whose backlog is 5× larger lost its link about 5× longer ago. */
const ROUND_MS = 40;
const OPS_TOKEN = 'bench-ops-token-0123456789abcdef';
const REGION = 'bench';
const DRAIN_LIMIT_MS = 90_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const storeId = (i: number) => `drain-${String(i).padStart(3, '0')}`;
const tokenOf = (id: string) => `token-of-${id}-0123456789abcdef`;
const quiet = () => createLogger({ level: 'error', destination: new Writable({ write: (_c, _e, done) => done() }) });

interface Run {
  label: string;
  budgetPerSec: number | null;
  entries: number;
  /** The most entries the ERP took in any one second, and over any five. */
  peak1s: number;
  peak5sPerSec: number;
  drainS: number;
  /** Each store's drain time (link back → its last entry at the ERP) and wait (→ its first), seconds. */
  storeDrainS: number[];
  firstS: number[];
  grantedPeak: number | null;
}

function hubYaml(budget: number | null): string {
  return `version: 1
listen: { host: 127.0.0.1, port: 0 }
store: { path: ./hub.db }
auth:
  gatewayTokensFile: gateway-tokens.yaml
  opsTokens: [ { tokenFile: ops.token, role: operator } ]
connections: { rateLimit: { messagesPerSec: 1000, burst: 1000 } }
${budget === null ? '' : `regions:\n  ${REGION}: { drainBudgetPerSec: ${budget} }\n`}`;
}

function gatewayYaml(id: string, wan: string, hubUrl: string): string {
  return `version: 1
store: { id: ${id}, region: ${REGION} }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
paths:
  - name: wan
    baseUrl: ${wan}
    probe: { url: ${wan}/ping }
routes:
${posOrdersRoute(2000, 'none')}
buffer: { path: ./journal.db }
cache: { path: ./cache.db }
fleet:
  hubUrl: ${hubUrl.replace('http', 'ws')}/v1/gateways/connect
  tokenFile: fleet.token
  telemetryIntervalMs: ${TELEMETRY_MS}
`;
}

async function json<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await request(url, { headers });
  return (await res.body.json()) as T;
}

async function region(hub: RunningHub): Promise<RegionDrainView | undefined> {
  const o = await json<{ regions: RegionDrainView[] }>(`${hub.url}/v1/fleet/overview`, { authorization: `Bearer ${OPS_TOKEN}` });
  return o.regions.find((r) => r.region === REGION);
}

async function pendingOf(hub: RunningHub): Promise<{ backlogged: number; pending: number }> {
  const o = await json<{ gateways: { queue: { pending: number } | null }[] }>(`${hub.url}/v1/fleet/overview`, { authorization: `Bearer ${OPS_TOKEN}` });
  const queues = o.gateways.map((g) => g.queue?.pending ?? 0);
  return { backlogged: queues.filter((p) => p > 0).length, pending: queues.reduce((a, b) => a + b, 0) };
}

async function oneRun(label: string, budget: number | null, erp: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'storegw-bench-drain-'));
  const ids = Array.from({ length: STORES }, (_, i) => storeId(i));
  writeFileSync(join(dir, 'gateway-tokens.yaml'), ids.map((id) => `${id}: ${tokenOf(id)}`).join('\n') + '\n', { mode: 0o600 });
  writeFileSync(join(dir, 'ops.token'), `${OPS_TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'hub.yaml'), hubYaml(budget));
  await request(`${erp}/_sim/reset`, { method: 'POST' }).then((r) => r.body.dump());
  const hub = await startHub(loadHubConfig(join(dir, 'hub.yaml')), quiet());
  const wan = await WanRelay.start(erp);
  const gateways: RunningGateway[] = [];
  try {
    // Ten at a time: each opens its journal in a worker thread.
    for (let i = 0; i < STORES; i += 10) {
      const batch = ids.slice(i, i + 10).map(async (id) => {
        const folder = join(dir, id);
        mkdirSync(folder);
        writeFileSync(join(folder, 'fleet.token'), `${tokenOf(id)}\n`, { mode: 0o600 });
        writeFileSync(join(folder, 'gateway.yaml'), gatewayYaml(id, wan.url, hub.url));
        return startGateway(loadGatewayConfig(join(folder, 'gateway.yaml')), quiet());
      });
      gateways.push(...(await Promise.all(batch)));
    }
    // The region's WAN goes: connections reset, probes fail, paths go DOWN.
    wan.set({ state: 'drop' });
    await sleep(3000);
    // Round r journals one order at every store whose backlog is at least LARGEST - r.
    let entries = 0;
    for (let r = 0; r < LARGEST; r++) {
      const round = gateways.flatMap((_g, i) => (backlogOf(i) >= LARGEST - r ? [i] : []));
      await Promise.all(
        round.map(async (i) => {
          const res = await request(`${gateways[i]!.url}/web/dataset/call_kw/pos.order/sync_from_ui`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: posOrderBody(`${ids[i]}-${r}`),
          });
          await res.body.dump();
          if (res.statusCode !== 202) throw new Error(`${ids[i]}: a write during the outage answered ${res.statusCode}, not 202`);
        }),
      );
      entries += round.length;
      await sleep(ROUND_MS);
    }
    // Until the hub has every store's backlog (from telemetry).
    const deadline = Date.now() + 30_000;
    while ((await pendingOf(hub)).pending < entries && Date.now() < deadline) await sleep(250);

    // The WAN comes back to the whole region at once.
    const back = Date.now();
    wan.set({ state: 'up' });
    let grantedPeak: number | null = null;
    let commits: SimOrder[] = [];
    while (Date.now() - back < DRAIN_LIMIT_MS) {
      await sleep(1000);
      const r = budget === null ? undefined : await region(hub);
      if (r) grantedPeak = Math.max(grantedPeak ?? 0, r.grantedPerSec);
      commits = await json<SimOrder[]>(`${erp}/_sim/commits`);
      if (commits.length >= entries) break;
    }
    const times = commits.map((c) => c.receivedAt);
    const byStore = ids.map((id) => commits.filter((c) => c.uuid?.startsWith(`${id}-`)).map((c) => c.receivedAt));
    return {
      label,
      budgetPerSec: budget,
      entries: commits.length,
      peak1s: peak(times, 1000),
      peak5sPerSec: peak(times, 5000) / 5,
      drainS: (Math.max(...times) - back) / 1000,
      storeDrainS: byStore.map((t) => (t.length === 0 ? Number.NaN : (Math.max(...t) - back) / 1000)),
      firstS: byStore.map((t) => (t.length === 0 ? Number.NaN : (Math.min(...t) - back) / 1000)),
      grantedPeak,
    };
  } finally {
    await Promise.all(gateways.map((g) => g.close()));
    await wan.close();
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

export const drainBench: BenchSection = {
  name: 'drain',
  description: `${STORES} stores of one region back from an outage at once, with a region drain budget of ${BUDGET}/s and without`,
  async run(): Promise<SectionReport> {
    const sim: Peer = await spawnNode('erp simulator', 'test/bench/peers/erp-sim.js', [], { readyLine: listeningLine });
    try {
      const runs = [await oneRun(`budget ${BUDGET}/s`, BUDGET, sim.url), await oneRun('no budget (each store at its own 50/s)', null, sim.url)];
      const table: Table = {
        title: `${STORES} stores, ${runs[0]!.entries} journaled entries, the WAN back for all at once`,
        columns: ['region', 'entries', 'peak 1 s', 'peak 5 s (/s)', 'granted max (/s)', 'drained (s)', 'store drain p10 / p50 / p90 / max (s)', 'spread (s)', 'first entry max (s)'],
        rows: runs.map((r) => [
          r.label,
          num(r.entries),
          num(r.peak1s),
          num(r.peak5sPerSec, 1),
          r.grantedPeak === null ? '-' : num(r.grantedPeak, 1),
          num(r.drainS, 1),
          [0.1, 0.5, 0.9, 1].map((q) => num(quantile(r.storeDrainS, q), 1)).join(' / '),
          num(Math.max(...r.storeDrainS) - Math.min(...r.storeDrainS), 1),
          num(Math.max(...r.firstS), 1),
        ]),
        notes: [
          'peak: the most entries the ERP took in any 1 s (5 s) window; a store\'s token bucket holds one second of its rate, so 1 s peaks may reach twice the rate in force',
          'store drain: from the WAN coming back to the store\'s last entry at the ERP; first entry: to its first (replay starts after a random 0-2 s hold)',
        ],
      };
      const [withBudget, without] = runs as [Run, Run];
      return {
        tables: [table],
        summary: [
          `with a budget of ${BUDGET}/s the ERP saw at most ${withBudget.peak1s} entries in a second (${num(withBudget.peak5sPerSec, 1)}/s over 5 s); without, ${without.peak1s} (${num(without.peak5sPerSec, 1)}/s)`,
          `drained in ${num(withBudget.drainS, 1)} s with the budget (at the budget: ${num(withBudget.entries / BUDGET, 1)} s), ${num(without.drainS, 1)} s without`,
        ],
        json: { stores: STORES, budgetPerSec: BUDGET, telemetryIntervalMs: TELEMETRY_MS, runs },
      };
    } finally {
      await sim.stop();
    }
  },
};
