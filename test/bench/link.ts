// Link failure detection on real WireGuard tunnels (the lab of test/lab, so
// root only): time from a fiber cut to the first request answered through LTE,
// over many cuts at random points of the probe cycle; what probing costs (CPU
// of the gateway against the same gateway without probes, bytes per minute on
// the wire per path); DOWN verdicts during a long run at 2% packet loss, of
// which there should be none. Default link and probe settings throughout.
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { labGatewayYaml, startLabGateway, type LabGateway } from '../lab/lab-gateway.js';
import { Lab, labSkipReason } from '../lab/topology.js';
import type { BenchSection, SectionReport } from './section.js';
import { num, type Table } from './table.js';

const CUTS = Number(process.env.STOREGW_BENCH_CUTS ?? 20);
const IDLE_S = Number(process.env.STOREGW_BENCH_IDLE_S ?? 60);
const SOAK_S = Number(process.env.STOREGW_BENCH_SOAK_S ?? 600);
const SOAK_LOSS_PCT = 2;
/** A request every this many ms while a cut is measured. */
const SEND_EVERY_MS = 10;

const ROUTES = `  - name: catalog
    match: { method: GET, path: /_sim/echo/** }
    class: interactive
    timeoutMs: 5000`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuMs(pid: number): number {
  // /proc/<pid>/stat fields 14 and 15: utime, stime in clock ticks (100 Hz on Linux).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function underlayBytes(lab: Lab, dev: string): Promise<number> {
  const { stdout } = await lab.exec('store', 'ip', ['-s', '-j', 'link', 'show', 'dev', dev]);
  const [link] = JSON.parse(stdout) as { stats64: { rx: { bytes: number }; tx: { bytes: number } } }[];
  return link!.stats64.rx.bytes + link!.stats64.tx.bytes;
}

async function waitState(gw: LabGateway, path: string, state: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await gw.paths())[path]?.state !== state) {
    if (Date.now() > until) throw new Error(`${path} not ${state} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** One cut: ms from the cut to the first answer that came through LTE. */
async function measureCut(lab: Lab, gw: LabGateway): Promise<number> {
  let t0 = 0;
  let firstLte: number | undefined;
  /** Answers in a row through fiber: a cut is measured only from a steady fiber. */
  let fiberStreak = 0;
  let sending = true;
  const inflight = new Set<Promise<void>>();
  const sender = (async () => {
    while (sending) {
      const p = request(`${gw.url}/_sim/echo/item`, { headersTimeout: 10_000, bodyTimeout: 10_000 })
        .then(async (res) => {
          await res.body.dump();
          const via = res.headers['x-gateway-path'];
          fiberStreak = via === 'fiber' ? fiberStreak + 1 : 0;
          if (t0 > 0 && firstLte === undefined && via === 'lte') firstLte = performance.now() - t0;
        })
        .catch(() => undefined);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      await sleep(SEND_EVERY_MS);
    }
  })();
  const steadyBy = Date.now() + 30_000;
  while (fiberStreak < 50) {
    if (Date.now() > steadyBy) throw new Error('requests did not settle on fiber within 30 s');
    await sleep(10);
  }
  // A random point of the probe cycle.
  await sleep(Math.random() * 1000);
  t0 = performance.now();
  await lab.cut('fiber');
  const until = Date.now() + 15_000;
  while (firstLte === undefined && Date.now() < until) await sleep(5);
  sending = false;
  await sender;
  await lab.restore('fiber');
  await Promise.all(inflight);
  if (firstLte === undefined) throw new Error('no answer came through LTE within 15 s of the cut');
  await waitState(gw, 'fiber', 'up');
  return firstLte;
}

async function idleCost(lab: Lab, gw: LabGateway, seconds: number) {
  const devs = Object.values(lab.uplinks).map((u) => u.storeUnderlay);
  const bytes0 = await Promise.all(devs.map((d) => underlayBytes(lab, d)));
  const cpu0 = cpuMs(gw.proc.pid!);
  await sleep(seconds * 1000);
  const cpu = cpuMs(gw.proc.pid!) - cpu0;
  const bytes = (await Promise.all(devs.map((d) => underlayBytes(lab, d)))).map((b, i) => b - bytes0[i]!);
  return { cpuMsPerMin: (cpu * 60) / seconds, bytesPerMin: bytes.map((b) => (b * 60) / seconds) };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

async function run(): Promise<SectionReport> {
  const reason = labSkipReason();
  if (reason) return { tables: [], summary: [`skipped: ${reason}`], json: { skipped: reason } };
  const lab = await Lab.create();
  let erp: ErpSimulator | undefined;
  let gw: LabGateway | undefined;
  try {
    erp = await startErpSimulator({ host: lab.mgmt.hostAddress, port: 0 });
    await lab.startNginx(erp.url);
    const lteOnlyCritical = { lte: 'allowClasses: [critical, interactive]\n    metered: true' };

    // Probe cost: the gateway idle with its probes, against the same gateway with none.
    const unprobed = labGatewayYaml(lab, { routes: ROUTES, pathExtra: lteOnlyCritical }).replace(/\n {4}probe: .*/g, '');
    const bare = await startLabGateway(lab, unprobed, 'unprobed');
    await sleep(2000);
    const bareCost = await idleCost(lab, bare, IDLE_S);
    await bare.stop();

    gw = await startLabGateway(lab, labGatewayYaml(lab, { routes: ROUTES, pathExtra: lteOnlyCritical }), 'probed');
    await waitState(gw, 'fiber', 'up');
    await waitState(gw, 'lte', 'up');
    await sleep(2000);
    const probedCost = await idleCost(lab, gw, IDLE_S);

    const detections: number[] = [];
    for (let i = 0; i < CUTS; i++) detections.push(await measureCut(lab, gw));
    const sorted = [...detections].sort((a, b) => a - b);

    const downsBefore = (gw.logs().match(/"path fiber is DOWN"/g) ?? []).length;
    await lab.loss('fiber', SOAK_LOSS_PCT);
    await sleep(SOAK_S * 1000);
    const soakStatus = (await gw.paths()).fiber!;
    await lab.loss('fiber', 0);
    const falseDowns = (gw.logs().match(/"path fiber is DOWN"/g) ?? []).length - downsBefore;
    const degradedDuringSoak = (gw.logs().match(/"path fiber is DEGRADED"/g) ?? []).length;

    const names = Object.keys(lab.uplinks);
    const tables: Table[] = [
      {
        title: `Detection: fiber cut (ip link set down) → first answer through LTE, ${CUTS} cuts, default settings`,
        columns: ['measure', 'ms'],
        rows: [
          ['median', num(pct(sorted, 0.5))],
          ['p90', num(pct(sorted, 0.9))],
          ['max', num(sorted.at(-1))],
          ['min', num(sorted[0])],
        ],
        notes: [`goal: median ≤ 1000 ms, max ≤ 2000 ms; requests every ${SEND_EVERY_MS} ms; cut at a random point of the probe cycle`],
      },
      {
        title: `Probe cost, gateway idle for ${IDLE_S} s (two paths, probes every 500 ms each)`,
        columns: ['measure', 'probed', 'no probes', 'difference'],
        rows: [
          ['gateway CPU, ms per minute', num(probedCost.cpuMsPerMin), num(bareCost.cpuMsPerMin), num(probedCost.cpuMsPerMin - bareCost.cpuMsPerMin)],
          ...names.map((n, i) => [
            `${n} underlay bytes per minute (WireGuard, both ways)`,
            num(probedCost.bytesPerMin[i]),
            num(bareCost.bytesPerMin[i]),
            num(probedCost.bytesPerMin[i]! - bareCost.bytesPerMin[i]!),
          ]),
        ],
        notes: ['no probes: the same gateway and tunnels with probe removed from both paths (WireGuard keepalive every 25 s stays)'],
      },
      {
        title: `${SOAK_S} s at ${SOAK_LOSS_PCT}% packet loss on fiber (nftables, each direction)`,
        columns: ['measure', 'value'],
        rows: [
          ['DOWN verdicts (false)', String(falseDowns)],
          ['DEGRADED verdicts', String(degradedDuringSoak)],
          ['loss % over the last 20 probes at the end', num(soakStatus.lossPct, 1)],
          ['jitter ms at the end', num(soakStatus.jitterMs, 1)],
        ],
      },
    ];
    return {
      tables,
      summary: [
        `detection median ${num(pct(sorted, 0.5))} ms (goal ≤ 1000), max ${num(sorted.at(-1))} ms (goal ≤ 2000): ${pct(sorted, 0.5) <= 1000 && sorted.at(-1)! <= 2000 ? 'met' : 'NOT met'}`,
        `false DOWN at ${SOAK_LOSS_PCT}% loss in ${SOAK_S} s: ${falseDowns} (goal 0): ${falseDowns === 0 ? 'met' : 'NOT met'}`,
      ],
      json: { detectionsMs: detections, probedCost, bareCost, soak: { seconds: SOAK_S, lossPct: SOAK_LOSS_PCT, falseDowns, degradedDuringSoak } },
    };
  } finally {
    await gw?.stop();
    await lab.destroy();
    await erp?.close();
  }
}

export const linkBench: BenchSection = {
  name: 'link',
  description: 'fiber cut → first answer through LTE on real WireGuard tunnels (root only); probe cost; false DOWNs at 2% loss',
  run,
};
