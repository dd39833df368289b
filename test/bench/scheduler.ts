// ERP first on a busy path: critical p99 latency under a flood of 200
// concurrent bulk requests, against the same critical traffic on an idle
// gateway and against the same flood with the scheduler replaced by plain
// FIFO (`queueing: fifo`), all in one run. The upstream is the ERP simulator
// with bounded capacity (a fixed number of workers, as an Odoo has), so the
// path's slots are the bottleneck and the order in which they are given is
// what is measured. The same comparison over a tbf-shaped WireGuard tunnel
// runs in the lab section (`npm run bench -- scheduler-lab`, root only).
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { startLabGateway } from '../lab/lab-gateway.js';
import { Lab, labSkipReason } from '../lab/topology.js';
import { maxLoad, pacedLoad, type LoadResult, type RequestSpec } from './load.js';
import { startGatewayPeer, type GatewayPeer } from './peers/gateway.js';
import type { BenchSection, SectionReport } from './section.js';
import { num, type Table } from './table.js';

const CRITICAL: RequestSpec = { method: 'GET', path: '/_sim/echo/checkout' };
const BULK: RequestSpec = { method: 'GET', path: '/_sim/blob?bytes=16384' };
const FLOOD_CONNECTIONS = 200;
const CRITICAL_RATE = 20;
const DURATION_S = Number(process.env.STOREGW_BENCH_SCHED_S ?? 15);

export function schedulerConfig(upstream: string, queueing: 'priority' | 'fifo', maxInFlight: number): string {
  return `version: 1
store: { id: bench-store, region: bench }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
paths:
  - { name: fiber, baseUrl: "${upstream}", maxInFlight: ${maxInFlight}, queueing: ${queueing} }
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
}

/** Critical at a steady rate, alone or beside a bulk flood; both measured over the same seconds. */
export async function criticalUnderFlood(gatewayUrl: string, flood: boolean): Promise<FloodResult> {
  const opts = { durationS: DURATION_S, warmupS: 0 };
  const [critical, bulk] = await Promise.all([
    // The flood gets a head start so the critical requests meet a full queue.
    new Promise((r) => setTimeout(r, flood ? 1000 : 0)).then(() => pacedLoad(gatewayUrl, CRITICAL, CRITICAL_RATE, { ...opts, durationS: DURATION_S - 2, connections: 8 })),
    flood ? maxLoad(gatewayUrl, BULK, { ...opts, connections: FLOOD_CONNECTIONS }) : Promise.resolve(undefined),
  ]);
  return { critical, bulk };
}

export function floodTable(title: string, idle: FloodResult, priority: FloodResult, fifo: FloodResult, notes: string[]): Table {
  const row = (name: string, r: FloodResult) => [
    name,
    num(r.critical.p50, 1),
    num(r.critical.p99, 1),
    num(r.critical.p99 / idle.critical.p99, 2),
    String(r.critical.failed),
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
// with tc tbf: there the link, not the ERP, is the bottleneck.
const LAB_RATE = '2mbit';

async function runLab(): Promise<SectionReport> {
  const reason = labSkipReason();
  if (reason) return { tables: [], summary: [`skipped: ${reason}`], json: { skipped: reason } };
  const lab = await Lab.create({ uplinks: ['fiber'] });
  let erp: ErpSimulator | undefined;
  try {
    erp = await startErpSimulator({ host: lab.mgmt.hostAddress, port: 0 });
    await lab.startNginx(erp.url);
    await lab.shape('fiber', LAB_RATE, { latencyMs: 200 });
    const results: Record<string, FloodResult> = {};
    for (const queueing of ['priority', 'fifo'] as const) {
      const yaml = schedulerConfig(lab.uplinks.fiber!.baseUrl, queueing, 8)
        .replace('listen: { host: 127.0.0.1, port: 0 }', `listen: { host: ${lab.lan.storeAddress}, port: 8080 }`)
        .replace('admin: { host: 127.0.0.1, port: 0 }', `admin: { host: ${lab.lan.storeAddress}, port: 9080 }`)
        .replace(/(maxInFlight: 8, queueing: \w+)/, `$1, probe: { url: "${lab.uplinks.fiber!.probeUrl}" }, localAddress: ${lab.uplinks.fiber!.storeTunnelAddress}`);
      const gw = await startLabGateway(lab, yaml, queueing);
      try {
        if (queueing === 'priority') results.idle = await criticalUnderFlood(gw.url, false);
        const flood = await criticalUnderFlood(gw.url, true);
        results[queueing] = { ...flood, degradedVerdicts: (gw.logs().match(/"path fiber is DEGRADED"/g) ?? []).length };
      } finally {
        await gw.stop();
      }
    }
    const idle = results.idle!;
    const priority = results.priority!;
    const fifo = results.fifo!;
    const ratio = priority.critical.p99 / idle.critical.p99;
    return {
      tables: [
        floodTable(
          `Lab: the same over a WireGuard tunnel shaped to ${LAB_RATE} (tbf, both ways, 200 ms queue), ERP unbounded`,
          idle,
          priority,
          fifo,
          [
            `${DURATION_S} s per case. The shaper's queue is shared by whatever is in flight: the scheduler orders who gets a slot, not the bytes already queued in the link.`,
            `DEGRADED verdicts during the flood (bulk is paused on a DEGRADED path): priority ${priority.degradedVerdicts ?? 0}, fifo ${fifo.degradedVerdicts ?? 0}`,
          ],
        ),
      ],
      summary: [`lab: critical p99 under flood ${num(ratio, 2)}× idle with the scheduler, ${num(fifo.critical.p99 / idle.critical.p99, 1)}× with plain FIFO`],
      json: { idle, priority, fifo },
    };
  } finally {
    await lab.destroy();
    await erp?.close();
  }
}

export const schedulerLabBench: BenchSection = {
  name: 'scheduler-lab',
  description: 'the scheduler comparison over a tbf-shaped WireGuard tunnel in the network lab (root only)',
  run: runLab,
};
