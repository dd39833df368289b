// ERP first on a busy path: critical p99 latency under a flood of 200
// concurrent bulk requests, against the same critical traffic on an idle
// gateway and against the same flood with the scheduler replaced by plain
// FIFO (`queueing: fifo`), all in one run. The upstream is the ERP simulator
// with bounded capacity (a fixed number of workers, as an Odoo has), so the
// path's slots are the bottleneck and the order in which they are given is
// what is measured. The same comparison over a tbf-shaped WireGuard tunnel
// runs in the lab section (`npm run bench -- scheduler-lab`, root only), at
// 2 Mbit/s and 512 kbit/s, with the path's byte budget on and off.
//   STOREGW_BENCH_LAB_MTU=576   the tunnel's MTU on both ends (default: wireguard-go's, 1420)
//   STOREGW_BENCH_CHECKOUT_PAD=1000   the checkout's request and answer that many bytes larger
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { dropInSettings } from '../support/sysctl-drop-in.js';
import { startLabGateway } from '../lab/lab-gateway.js';
import { Lab, labSkipReason, rateBytesPerSec } from '../lab/topology.js';
import { maxLoad, pacedLoad, type LoadResult, type RequestSpec } from './load.js';
import { startGatewayPeer, type GatewayPeer } from './peers/gateway.js';
import type { BenchSection, SectionReport } from './section.js';
import { num, type Table } from './table.js';

/**
 * Bytes added to the checkout's URL, which the ERP echoes: its request and its
 * answer that much larger. The bare echo answers in one packet (about 300
 * bytes); an Odoo order and its answer take several.
 */
const CHECKOUT_PAD = Number(process.env.STOREGW_BENCH_CHECKOUT_PAD ?? 0);
const CRITICAL: RequestSpec = { method: 'GET', path: `/_sim/echo/checkout${CHECKOUT_PAD > 0 ? `?pad=${'x'.repeat(CHECKOUT_PAD)}` : ''}` };
const BULK: RequestSpec = { method: 'GET', path: '/_sim/blob?bytes=16384' };
const FLOOD_CONNECTIONS = 200;
const CRITICAL_RATE = 20;
const DURATION_S = Number(process.env.STOREGW_BENCH_SCHED_S ?? 15);

/** `budgetTargetMs`: the path's byte budget on, with that target; undefined: off. */
export function schedulerConfig(upstream: string, queueing: 'priority' | 'fifo', maxInFlight: number, budgetTargetMs?: number): string {
  return `version: 1
store: { id: bench-store, region: bench }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
paths:
  - { name: fiber, baseUrl: "${upstream}", maxInFlight: ${maxInFlight}, queueing: ${queueing}, byteBudget: { enabled: ${budgetTargetMs !== undefined}, targetMs: ${budgetTargetMs ?? 50} } }
classes:
  critical: { maxQueueMs: 30000 }
  bulk: { maxQueueMs: 60000 }
routes:
  - name: checkout
    match: { path: /_sim/echo/checkout }
    class: critical
    timeoutMs: 30000
  - name: images
    match: { path: /_sim/blob }
    class: bulk
    timeoutMs: 60000
buffer: { path: ./journal.db }
cache: { path: ./cache.db }
`;
}

export interface FloodResult {
  critical: LoadResult;
  bulk: LoadResult | undefined;
  /** Lab only: how often the path turned DEGRADED meanwhile. */
  degradedVerdicts?: number;
  /** Lab only: the link's downstream bytes per second over the case (all traffic, headers included). */
  downBytesPerS?: number;
}

/**
 * Critical at a steady rate, alone or beside a bulk flood; both measured over
 * the same seconds. `bulkTimeoutS`: how long a bulk client waits for its
 * answer (on a thin link 200 clients wait longer than autocannon's 10 s, and
 * answers given up on mid-way would count against the link's goodput).
 */
export async function criticalUnderFlood(gatewayUrl: string, flood: boolean, bulkTimeoutS = 10): Promise<FloodResult> {
  const opts = { durationS: DURATION_S, warmupS: 0 };
  const [critical, bulk] = await Promise.all([
    // The flood gets a head start so the critical requests meet a full queue.
    new Promise((r) => setTimeout(r, flood ? 1000 : 0)).then(() => pacedLoad(gatewayUrl, CRITICAL, CRITICAL_RATE, { ...opts, durationS: DURATION_S - 2, connections: 8 })),
    flood ? maxLoad(gatewayUrl, BULK, { ...opts, connections: FLOOD_CONNECTIONS, timeoutS: bulkTimeoutS }) : Promise.resolve(undefined),
  ]);
  return { critical, bulk };
}

/** A case's critical p50, p99, p99 against idle, failures. */
function criticalCells(r: FloodResult, idle: FloodResult): string[] {
  return [num(r.critical.p50, 1), num(r.critical.p99, 1), num(r.critical.p99 / idle.critical.p99, 2), String(r.critical.failed)];
}

export function floodTable(title: string, idle: FloodResult, priority: FloodResult, fifo: FloodResult, notes: string[]): Table {
  const row = (name: string, r: FloodResult) => [
    name,
    ...criticalCells(r, idle),
    r.bulk ? num(r.bulk.rps) : '-',
    r.bulk ? String(r.bulk.failed) : '-',
  ];
  return {
    title,
    columns: ['gateway', 'critical p50 ms', 'critical p99 ms', 'p99 × idle', 'critical failed', 'bulk req/s', 'bulk failed'],
    rows: [row('idle (no flood)', idle), row('flood, priority scheduler', priority), row('flood, plain FIFO', fifo)],
    notes,
  };
}

async function run(): Promise<SectionReport> {
  let erp: ErpSimulator | undefined;
  const peers: GatewayPeer[] = [];
  try {
    erp = await startErpSimulator({ host: '127.0.0.1', port: 0 });
    // Eight workers at 20 ms each: at most 400 requests/s, far below the flood's demand.
    erp.setCapacity({ concurrency: 8, serviceMs: 20 });
    const start = async (q: 'priority' | 'fifo') => {
      const p = await startGatewayPeer(schedulerConfig(erp!.url, q, 8));
      peers.push(p);
      return p;
    };
    const prio = await start('priority');
    const idle = await criticalUnderFlood(prio.url, false);
    const priority = await criticalUnderFlood(prio.url, true);
    const fifoPeer = await start('fifo');
    const fifo = await criticalUnderFlood(fifoPeer.url, true);
    const ratio = priority.critical.p99 / idle.critical.p99;
    return {
      tables: [
        floodTable(
          `Loopback: critical GET at ${CRITICAL_RATE}/s beside ${FLOOD_CONNECTIONS} concurrent bulk downloads (16 KiB), path maxInFlight 8, ERP 8 workers × 20 ms`,
          idle,
          priority,
          fifo,
          [`${DURATION_S} s per case; critical latency from send to last byte`],
        ),
      ],
      summary: [
        `critical p99 under flood: ${num(ratio, 2)}× idle with the scheduler (goal ≤ 2×): ${ratio <= 2 ? 'met' : 'NOT met'}; ${num(fifo.critical.p99 / idle.critical.p99, 1)}× with plain FIFO`,
        `bulk still completes: ${num(priority.bulk?.rps)} req/s with the scheduler, ${num(fifo.bulk?.rps)} with FIFO`,
      ],
      json: { idle, priority, fifo },
    };
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    await erp?.close();
  }
}

export const schedulerBench: BenchSection = {
  name: 'scheduler',
  description: 'critical p99 under a 200-connection bulk flood: priority scheduler vs idle vs plain FIFO, on loopback with a bounded-capacity ERP',
  run,
};

// The same comparison on a real WireGuard tunnel whose underlay is shaped
// with tc tbf: there the link, not the ERP, is the bottleneck, and the bulk
// answers already sent queue in the shaper ahead of a checkout's answer
// whatever the slot order; the path's byte budget is what limits them.
const LAB_RATES = ['2mbit', '512kbit'] as const;
const BULK_BYTES = 16384;
const LAB_CASES = ['idle', 'budget', 'priority', 'fifo'] as const;
/**
 * The bulk queue a checkout may meet: on top of the tunnel's round trip,
 * about a millisecond here (a WAN's tens of milliseconds are what the
 * default of 50 is for: targetMs must exceed the round trip to fill the link).
 */
const LAB_TARGET_MS = 15;
/** The tunnel's MTU when set: smaller packets, a shorter wait behind the one on the wire, more bytes in headers. */
const LAB_MTU = process.env.STOREGW_BENCH_LAB_MTU;
type LabCase = (typeof LAB_CASES)[number];

/** Bulk goodput (bodies only) as a share of the link's rate. */
function linkShare(r: FloodResult, rate: string): number {
  return r.bulk ? (r.bulk.rps * BULK_BYTES) / rateBytesPerSec(rate) : 0;
}

/** How busy the link's downstream was: its bytes over the case against its rate. */
const busyShare = (r: FloodResult, rate: string) => (r.downBytesPerS ?? 0) / rateBytesPerSec(rate);

function labTable(rate: string, results: Record<LabCase, FloodResult>): Table {
  const idle = results.idle;
  const row = (name: string, r: FloodResult) => [
    name,
    ...criticalCells(r, idle),
    r.bulk ? `${num(linkShare(r, rate) * 100)} %` : '-',
    `${num(busyShare(r, rate) * 100)} %`,
    r.bulk ? String(r.bulk.failed) : '-',
    String(r.degradedVerdicts ?? 0),
  ];
  return {
    title: `Lab: critical GET${CHECKOUT_PAD > 0 ? ` (URL and answer ${CHECKOUT_PAD} bytes larger)` : ''} at ${CRITICAL_RATE}/s beside ${FLOOD_CONNECTIONS} concurrent bulk downloads (16 KiB) over a WireGuard tunnel${LAB_MTU === undefined ? '' : ` (MTU ${LAB_MTU})`} shaped to ${rate} (tbf, both ways, 200 ms queue), path maxInFlight 8, ERP unbounded`,
    columns: ['gateway', 'critical p50 ms', 'critical p99 ms', 'p99 × idle', 'critical failed', 'bulk goodput, % of link', 'link busy (down)', 'bulk failed', 'DEGRADED verdicts'],
    rows: [
      row('idle (no flood), byte budget on', idle),
      row('flood, scheduler + byte budget', results.budget),
      row('flood, scheduler, no byte budget', results.priority),
      row('flood, plain FIFO', results.fifo),
    ],
    notes: [
      `${DURATION_S} s per case; byte budget targetMs ${LAB_TARGET_MS}, the store's sysctls as deploy/sysctl/90-storegw.conf sets them (tcp_shrink_window 1, tcp_rmem Linux's default); bulk clients wait up to 120 s for an answer; bulk goodput counts the 16 KiB bodies answered within the case, not headers or tunnel overhead`,
      'bulk is paused on a DEGRADED path (answered 503 at once there: "bulk failed")',
      "link busy: the bytes the region side's shaper sent towards the store over the case (all traffic: headers, ACKs, WireGuard and Ethernet included), against its rate; in the idle case, what the critical requests alone take of the link",
    ],
  };
}

async function runLab(): Promise<SectionReport> {
  const reason = labSkipReason();
  if (reason) return { tables: [], summary: [`skipped: ${reason}`], json: { skipped: reason } };
  const lab = await Lab.create({ uplinks: ['fiber'] });
  let erp: ErpSimulator | undefined;
  try {
    // The store as deploy/sysctl/90-storegw.conf sets it up: new bulk connections' first windows shrink to the budget's too.
    for (const { key, value } of dropInSettings()) await lab.exec('store', 'sysctl', ['-qw', `${key}=${value}`]);
    erp = await startErpSimulator({ host: lab.mgmt.hostAddress, port: 0 });
    await lab.startNginx(erp.url);
    if (LAB_MTU !== undefined) {
      const u = lab.uplinks.fiber!;
      await lab.exec('store', 'ip', ['link', 'set', 'dev', u.storeWg, 'mtu', LAB_MTU]);
      await lab.exec('region', 'ip', ['link', 'set', 'dev', u.regionWg, 'mtu', LAB_MTU]);
    }
    const byRate: Record<string, Record<LabCase, FloodResult>> = {};
    for (const rate of LAB_RATES) {
      await lab.shape('fiber', rate, { latencyMs: 200 });
      const results: Partial<Record<LabCase, FloodResult>> = {};
      for (const c of LAB_CASES) {
        const yaml = schedulerConfig(lab.uplinks.fiber!.baseUrl, c === 'fifo' ? 'fifo' : 'priority', 8, c === 'idle' || c === 'budget' ? LAB_TARGET_MS : undefined)
          .replace('listen: { host: 127.0.0.1, port: 0 }', `listen: { host: ${lab.lan.storeAddress}, port: 8080 }`)
          .replace('admin: { host: 127.0.0.1, port: 0 }', `admin: { host: ${lab.lan.storeAddress}, port: 9080 }`)
          .replace(/(maxInFlight: 8, queueing: \w+)/, `$1, probe: { url: "${lab.uplinks.fiber!.probeUrl}" }, localAddress: ${lab.uplinks.fiber!.storeTunnelAddress}`);
        const gw = await startLabGateway(lab, yaml, `${rate}-${c}`);
        try {
          const sent = await lab.sentDown('fiber');
          const since = performance.now();
          const r = await criticalUnderFlood(gw.url, c !== 'idle', 120);
          const downBytesPerS = ((await lab.sentDown('fiber')) - sent) / ((performance.now() - since) / 1000);
          results[c] = { ...r, degradedVerdicts: (gw.logs().match(/"path fiber is DEGRADED"/g) ?? []).length, downBytesPerS };
        } finally {
          await gw.stop();
        }
      }
      byRate[rate] = results as Record<LabCase, FloodResult>;
    }
    const summary = LAB_RATES.flatMap((rate) => {
      const r = byRate[rate]!;
      const x = (c: LabCase) => num(r[c].critical.p99 / r.idle.critical.p99, 1);
      const share = linkShare(r.budget, rate);
      const critical = busyShare(r.idle, rate);
      return [
        `lab ${rate}: critical p99 under flood ${x('budget')}× idle with the byte budget (goal ≤ 3×: ${r.budget.critical.p99 / r.idle.critical.p99 <= 3 ? 'met' : 'NOT met'}), ${x('priority')}× with slots only, ${x('fifo')}× with plain FIFO`,
        `lab ${rate}: bulk goodput ${num(share * 100)} % of the link with the byte budget (goal ≥ 80 %: ${share >= 0.8 ? 'met' : 'NOT met'}), ${num(linkShare(r.priority, rate) * 100)} % without; the link was ${num(busyShare(r.budget, rate) * 100)} % busy, and the critical requests alone take ${num(critical * 100)} % of it: bulk's bodies filled ${num((share / (1 - critical)) * 100)} % of what they leave`,
      ];
    });
    return { tables: LAB_RATES.map((rate) => labTable(rate, byRate[rate]!)), summary, json: byRate };
  } finally {
    await lab.destroy();
    await erp?.close();
  }
}

export const schedulerLabBench: BenchSection = {
  name: 'scheduler-lab',
  description: 'critical p99 and bulk goodput under a bulk flood over tbf-shaped WireGuard tunnels (2 Mbit/s, 512 kbit/s) in the network lab: byte budget on and off, slots only, plain FIFO (root only)',
  run: runLab,
};
