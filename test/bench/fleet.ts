// One hub, many gateways: the hub (`storegw hub`, a child process, so its RSS
// and CPU are its own) against 1k, 5k and 10k simulated gateways held by 1–4
// gateway processes (peers/fleet-gateways.ts), each sending realistic telemetry
// every 10 s and answering commands at once. Per fleet size: the ramp (500
// connections/s), the hub's RSS and CPU over a steady window, the telemetry the
// hub took (counted in its database against what was sent), the round trip of
// single commands through the ops API at 20/s, and one fleet-wide command.
// Goals (issue 6): 10k gateways in < 1 GB RSS; command p99 < 100 ms at 5k.
//
// STOREGW_BENCH_FLEET_SIZES=200,1000  fleet sizes (default 1000,5000,10000)
// STOREGW_BENCH_FLEET_STEADY_S=10     steady window (default 30)
// STOREGW_BENCH_FLEET_COMMANDS=100    single commands per size at 20/s (default 320: 16 s, one heartbeat sweep)
// STOREGW_BENCH_FLEET_CPU_PROF=DIR    the hub runs with --cpu-prof, profiles in DIR
// STOREGW_BENCH_FLEET_HEARTBEAT_MS=N  the hub's heartbeat interval (default: the hub's, 15 s), for a diagnostic run
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { Pool, request } from 'undici';
import { distFile, peerOwningDir, spawnNode, spawnPeer, type Peer } from './harness.js';
import { fleetGatewayId, fleetGatewayToken, workerJson, type StartRequest, type WorkerStats } from './peers/fleet-gateways-api.js';
import { percentileOfSorted } from './load.js';
import { cpuSeconds, rssMiB } from './proc.js';
import type { BenchSection, SectionReport } from './section.js';
import { num, type Table } from './table.js';

const SIZES = (process.env.STOREGW_BENCH_FLEET_SIZES ?? '1000,5000,10000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
const STEADY_S = Number(process.env.STOREGW_BENCH_FLEET_STEADY_S ?? 30);
const CPU_PROF = process.env.STOREGW_BENCH_FLEET_CPU_PROF;
const CONNECT_PER_SEC = 500;
const TELEMETRY_MS = 10_000;
/** The hub's heartbeat (its default, 15 s): every connection is pinged in one go, once per interval. */
const HEARTBEAT_MS = Number(process.env.STOREGW_BENCH_FLEET_HEARTBEAT_MS ?? 15_000);
const COMMAND_RATE = 20;
/** Single commands: by default over one heartbeat interval and a second, so every run includes one ping sweep. */
const COMMANDS = Number(process.env.STOREGW_BENCH_FLEET_COMMANDS ?? ((Math.min(HEARTBEAT_MS, 15_000) + 1000) / 1000) * COMMAND_RATE);
/** A /healthz answer slower than this is a stall of the hub's loop: kept with its time, for the heartbeat's share. */
const STALL_MS = 20;
const COMMAND_CONNECTIONS = 8;
const PER_WORKER = 2500;
const MAX_WORKERS = 4;
const GOAL_RSS_MB = 1000;
const GOAL_P99_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const MB = (mib: number) => mib * 1.048576;

interface Hub extends Peer {
  pid: number;
  /** performance.now() when it said it listens; its heartbeat timer started just before. */
  readyAt: number;
  db: string;
  opsToken: string;
}

async function startHub(n: number, seed: string): Promise<Hub> {
  const dir = mkdtempSync(join(tmpdir(), 'storegw-bench-fleet-'));
  const tokens = ['# gateway id -> sha256 of its token (the bench gateways derive theirs from a seed)'];
  for (let i = 0; i < n; i++) {
    const id = fleetGatewayId(i);
    tokens.push(`${id}: "sha256:${sha256(fleetGatewayToken(seed, id))}"`);
  }
  writeFileSync(join(dir, 'gateway-tokens.yaml'), `${tokens.join('\n')}\n`, { mode: 0o600 });
  const opsToken = randomBytes(24).toString('base64url');
  writeFileSync(join(dir, 'ops.token'), `${opsToken}\n`, { mode: 0o600 });
  // Everything else at the hub's defaults: flush every 1 s, heartbeat 15 s, 100 msg/s per gateway.
  writeFileSync(
    join(dir, 'hub.yaml'),
    `version: 1
listen: { host: 127.0.0.1, port: 0 }
store: { path: ./hub.db }
connections: { heartbeatIntervalMs: ${HEARTBEAT_MS} }
auth:
  gatewayTokensFile: ./gateway-tokens.yaml
  opsTokens:
    - { tokenFile: ./ops.token, role: operator, name: bench }
`,
  );
  const prof = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${resolve(CPU_PROF)}`, `--cpu-prof-name=hub-${n}.cpuprofile`] : [];
  if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
  let pid = 0;
  const peer = await peerOwningDir(
    dir,
    spawnPeer({
      name: 'storegw hub',
      command: process.execPath,
      args: [...prof, distFile('src/cli/main.js'), 'hub', '--config', join(dir, 'hub.yaml')],
      cwd: dir,
      // The hub's production level: a line per connect and disconnect, none per message.
      env: { LOG_LEVEL: 'info' },
      timeoutMs: 60_000,
      readyLine: (line) => {
        if (!line.includes('"hub started"')) return undefined;
        const v = JSON.parse(line) as { url: string; pid: number };
        pid = v.pid;
        return v.url;
      },
    }),
  );
  return { ...peer, pid, readyAt: performance.now(), db: join(dir, 'hub.db'), opsToken };
}

interface Worker extends Peer {
  pid: number;
}

/** The hub's RSS every second, for its maximum and a timeline in the JSON. */
class Sampler {
  maxMiB = 0;
  readonly timeline: { s: number; rssMiB: number; cpuS: number }[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #start = performance.now();

  constructor(readonly pid: number) {
    this.#timer = setInterval(() => this.sample(), 1000);
    this.sample();
  }

  sample(): number {
    try {
      const rss = rssMiB(this.pid);
      this.maxMiB = Math.max(this.maxMiB, rss);
      this.timeline.push({ s: Math.round((performance.now() - this.#start) / 100) / 10, rssMiB: Math.round(rss * 10) / 10, cpuS: cpuSeconds(this.pid) });
      return rss;
    } catch {
      return NaN; // the hub is gone; its exit is reported by what fails next
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

interface SizeResult {
  gateways: number;
  workers: number;
  ramp: { seconds: number; online: number; complete: boolean; hubCpuS: number; hubCpuMsPerConnect: number };
  list: { ms: number; bytes: number; online: number };
  rss: { startMiB: number; steadyEndMiB: number; maxMiB: number; endMiB: number };
  steady: { seconds: number; hubCpuPct: number; workersCpuPct: number; sent: number; accepted: number; sentPerS: number; acceptedPerS: number; hubCpuUsPerMessage: number };
  commands: { sent: number; ok: number; statuses: Record<string, number>; p50: number; p99: number; max: number; hubCpuPct: number; healthz: { count: number; p50: number; p99: number; max: number; stalls: { atS: number; ms: number }[] } };
  fleet: { status: number; ms: number; matched: number; sent: number; ok: number; failed: number; bytes: number; rssAfterMiB: number };
  health: { connects: number; drops: Record<string, number>; refused: Record<string, number>; connectErrors: number; hubErrors: Record<string, number>; answered: Record<string, number> };
  timeline: Sampler['timeline'];
}

async function measure(n: number): Promise<SizeResult> {
  const seed = randomBytes(16).toString('hex');
  const peers: Peer[] = [];
  let sampler: Sampler | undefined;
  let pool: Pool | undefined;
  let probes: Pool | undefined;
  try {
    const hub = await startHub(n, seed);
    peers.push(hub);
    const auth = { authorization: `Bearer ${hub.opsToken}` };
    await sleep(1000);
    sampler = new Sampler(hub.pid);
    const startMiB = sampler.sample();

    const count = Math.min(MAX_WORKERS, Math.ceil(n / PER_WORKER));
    const workers: Worker[] = await Promise.all(
      Array.from({ length: count }, async (_, k) => {
        const peer = await spawnNode(`fleet gateways ${k + 1}`, 'test/bench/peers/fleet-gateways.js');
        peers.push(peer);
        return { ...peer, pid: (await workerJson<WorkerStats>(peer, 'GET', '/stats')).pid };
      }),
    );
    const stats = async (q = '') => Promise.all(workers.map((w) => workerJson<WorkerStats>(w, 'GET', `/stats${q}`)));
    const cpuOf = (pids: number[]) => pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
    const workerPids = workers.map((w) => w.pid);

    // 1. Ramp: every gateway connects and says hello, at CONNECT_PER_SEC in all.
    const connectUrl = `${hub.url.replace(/^http/, 'ws')}/v1/gateways/connect`;
    const rampStart = performance.now();
    const rampCpu0 = cpuSeconds(hub.pid);
    const share = Math.ceil(n / count);
    await Promise.all(
      workers.map((w, k) => {
        const start: StartRequest = { url: connectUrl, seed, from: k * share, to: Math.min(n, (k + 1) * share), connectPerSec: CONNECT_PER_SEC / count, telemetryIntervalMs: TELEMETRY_MS, regions: 8 };
        return workerJson(w, 'POST', '/start', start);
      }),
    );
    const rampDeadline = rampStart + ((n / CONNECT_PER_SEC) * 3 + 60) * 1000;
    let online = 0;
    for (;;) {
      const res = await request(`${hub.url}/readyz`);
      online = ((await res.body.json()) as { gateways: number }).gateways;
      if (online >= n || performance.now() > rampDeadline) break;
      await sleep(200);
    }
    const rampSeconds = (performance.now() - rampStart) / 1000;
    const rampCpu = cpuSeconds(hub.pid) - rampCpu0;
    process.stdout.write(`  ${num(n)} gateways: ${num(online)} online after ${num(rampSeconds, 1)} s\n`);

    // The operator's view: the whole list, online flags from the hub's connections.
    const listStart = performance.now();
    const listRes = await request(`${hub.url}/v1/gateways`, { headers: auth, headersTimeout: 120_000, bodyTimeout: 120_000 });
    const listText = await listRes.body.text();
    const listMs = performance.now() - listStart;
    const listed = (JSON.parse(listText) as { online: boolean }[]).filter((g) => g.online).length;

    // 2. Steady state: one whole telemetry interval to settle (every gateway past its random phase), then the window.
    await sleep(TELEMETRY_MS);
    const t1 = Math.ceil(Date.now() / 1000) * 1000;
    await sleep(t1 - Date.now());
    const cpu1 = cpuSeconds(hub.pid);
    const wcpu1 = cpuOf(workerPids);
    const p1 = performance.now();
    const t2 = t1 + STEADY_S * 1000;
    await sleep(t2 - Date.now());
    const cpu2 = cpuSeconds(hub.pid);
    const wcpu2 = cpuOf(workerPids);
    const wall = (performance.now() - p1) / 1000;
    const steadyEndMiB = sampler.sample();
    // The hub writes telemetry once a second: wait for the window's last batch.
    await sleep(2500);
    const db = new Database(hub.db, { readonly: true, fileMustExist: true });
    const accepted = (db.prepare('SELECT count(*) AS n FROM telemetry WHERE ts >= ? AND ts < ?').get(t1, t2) as { n: number }).n;
    db.close();
    const sent = (await stats(`?from=${t1}&to=${t2}`)).reduce((s, w) => s + (w.sentInWindow ?? 0), 0);

    // 3. Single commands through the ops API to random gateways, at COMMAND_RATE/s, open loop.
    // A command's time runs from when it was due (waiting for a pool connection included) to its answer's last byte.
    // Between two commands, GET /healthz on a connection of its own: the same event loop's
    // answer to the cheapest request, i.e. how long the hub's loop is busy with other work.
    pool = new Pool(hub.url, { connections: COMMAND_CONNECTIONS });
    probes = new Pool(hub.url, { connections: 2 });
    const probeMs: number[] = [];
    const stalls: { atS: number; ms: number }[] = [];
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    let ok = 0;
    const ccpu0 = cpuSeconds(hub.pid);
    const cStart = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < COMMANDS; i++) {
      const due = cStart + (i * 1000) / COMMAND_RATE;
      await sleep(due - performance.now());
      const id = fleetGatewayId(Math.floor(Math.random() * n));
      const p = pool
        .request({ path: `/v1/gateways/${id}/commands`, method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ command: 'status', args: {} }) })
        .then(async (res) => {
          const body = (await res.body.json()) as { ok?: boolean };
          latencies.push(performance.now() - due);
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          if (res.statusCode === 200 && body.ok === true) ok++;
        })
        .catch((e: Error) => {
          statuses[e.name] = (statuses[e.name] ?? 0) + 1;
        });
      inFlight.push(p);
      const probeDue = due + 500 / COMMAND_RATE;
      inFlight.push(
        sleep(probeDue - performance.now()).then(() =>
          probes!
            .request({ path: '/healthz', method: 'GET' })
            .then(async (res) => {
              await res.body.dump();
              const ms = performance.now() - probeDue;
              probeMs.push(ms);
              if (ms > STALL_MS) stalls.push({ atS: Math.round(probeDue - hub.readyAt) / 1000, ms: Math.round(ms * 10) / 10 });
            })
            .catch(() => undefined),
        ),
      );
    }
    await Promise.all(inFlight);
    probeMs.sort((a, b) => a - b);
    const commandCpuPct = ((cpuSeconds(hub.pid) - ccpu0) / ((performance.now() - cStart) / 1000)) * 100;
    latencies.sort((a, b) => a - b);

    // 4. One command to the whole fleet, answered when every gateway has answered.
    const fStart = performance.now();
    const fRes = await request(`${hub.url}/v1/fleet/commands`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'replay.pause', args: {} }),
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
    const fText = await fRes.body.text();
    const fMs = performance.now() - fStart;
    const fBody = JSON.parse(fText) as { matched?: number; sent?: number; ok?: number; failed?: number };
    const rssAfterFleet = sampler.sample();
    await sleep(1000);
    const endMiB = sampler.sample();
    const health = await stats();

    return {
      gateways: n,
      workers: count,
      ramp: { seconds: rampSeconds, online, complete: online >= n, hubCpuS: rampCpu, hubCpuMsPerConnect: (rampCpu * 1000) / Math.max(1, online) },
      list: { ms: listMs, bytes: Buffer.byteLength(listText), online: listed },
      rss: { startMiB, steadyEndMiB, maxMiB: sampler.maxMiB, endMiB },
      steady: {
        seconds: wall,
        hubCpuPct: ((cpu2 - cpu1) / wall) * 100,
        workersCpuPct: ((wcpu2 - wcpu1) / wall) * 100,
        sent,
        accepted,
        sentPerS: sent / STEADY_S,
        acceptedPerS: accepted / STEADY_S,
        hubCpuUsPerMessage: ((cpu2 - cpu1) / Math.max(1, accepted)) * 1e6,
      },
      commands: {
        sent: COMMANDS,
        ok,
        statuses,
        p50: percentileOfSorted(latencies, 0.5),
        p99: percentileOfSorted(latencies, 0.99),
        max: latencies.at(-1) ?? NaN,
        hubCpuPct: commandCpuPct,
        healthz: { count: probeMs.length, p50: percentileOfSorted(probeMs, 0.5), p99: percentileOfSorted(probeMs, 0.99), max: probeMs.at(-1) ?? NaN, stalls },
      },
      fleet: { status: fRes.statusCode, ms: fMs, matched: fBody.matched ?? 0, sent: fBody.sent ?? 0, ok: fBody.ok ?? 0, failed: fBody.failed ?? 0, bytes: Buffer.byteLength(fText), rssAfterMiB: rssAfterFleet },
      health: {
        connects: health.reduce((s, w) => s + w.connects, 0),
        drops: merge(health.map((w) => w.drops)),
        refused: merge(health.map((w) => w.refused)),
        connectErrors: health.reduce((s, w) => s + w.connectErrors, 0),
        hubErrors: merge(health.map((w) => w.hubErrors)),
        answered: merge(health.map((w) => w.commandsAnswered)),
      },
      timeline: sampler.timeline,
    };
  } finally {
    sampler?.stop();
    await pool?.close();
    await probes?.close();
    // Gateways first (the hub sees them leave), then the hub, whose folder goes with it.
    const [hub, ...workers] = peers;
    await Promise.all(workers.map((w) => workerJson(w, 'POST', '/stop').catch(() => undefined)));
    await Promise.all(workers.map((w) => w.stop()));
    await hub?.stop();
  }
}

function merge(maps: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}

const sum = (m: Record<string, number>) => Object.values(m).reduce((s, v) => s + v, 0);
const describe = (m: Record<string, number>) => (Object.keys(m).length === 0 ? '0' : Object.entries(m).map(([k, v]) => `${v}×${k}`).join(' '));

async function run(): Promise<SectionReport> {
  const results: SizeResult[] = [];
  for (const n of SIZES) results.push(await measure(n));

  const tables: Table[] = [
    {
      title: `Hub memory and CPU (telemetry every ${TELEMETRY_MS / 1000} s per gateway; steady window ${STEADY_S} s)`,
      columns: ['gateways', 'ramp s', 'RSS at start MiB', 'RSS steady MiB', 'RSS max MiB', 'CPU % steady', 'CPU ms/connect', 'sent/s', 'accepted/s', 'accepted/sent', 'CPU µs/msg'],
      rows: results.map((r) => [
        num(r.gateways),
        `${num(r.ramp.seconds, 1)}${r.ramp.complete ? '' : ` (${num(r.ramp.online)} only)`}`,
        num(r.rss.startMiB),
        num(r.rss.steadyEndMiB),
        num(r.rss.maxMiB),
        num(r.steady.hubCpuPct, 1),
        num(r.ramp.hubCpuMsPerConnect, 2),
        num(r.steady.sentPerS, 1),
        num(r.steady.acceptedPerS, 1),
        num(r.steady.sent ? r.steady.accepted / r.steady.sent : NaN, 3),
        num(r.steady.hubCpuUsPerMessage),
      ]),
      notes: [
        'RSS at start: 1 s after the hub started (its tokens file parsed, not yet collected); steady: at the end of the window;',
        'max: sampled every second over the whole run (ramp, steady, commands, the fleet command). CPU ms/connect: hub CPU over the ramp per gateway.',
        'accepted: telemetry rows in the hub database with ts in the window; sent: what the gateways sent with ts in it. CPU % of one core.',
        'CPU µs/msg: hub CPU in the window divided by the messages it took (heartbeats and housekeeping included).',
      ],
    },
    {
      title: `Commands: POST /v1/gateways/<id>/commands status, ${COMMANDS} at ${COMMAND_RATE}/s to random gateways; then replay.pause to the whole fleet`,
      columns: ['gateways', 'ok', 'p50 ms', 'p99 ms', 'max ms', 'p99 / goal', 'healthz p50', 'healthz p99', 'healthz max', 'hub CPU %', 'fleet cmd s', 'fleet ok', 'fleet failed', 'fleet answer MiB', 'RSS after MiB'],
      rows: results.map((r) => [
        num(r.gateways),
        `${r.commands.ok}/${r.commands.sent}`,
        num(r.commands.p50, 1),
        num(r.commands.p99, 1),
        num(r.commands.max, 1),
        `${num(r.commands.p99 / GOAL_P99_MS, 2)}×`,
        num(r.commands.healthz.p50, 1),
        num(r.commands.healthz.p99, 1),
        num(r.commands.healthz.max, 1),
        num(r.commands.hubCpuPct, 1),
        num(r.fleet.ms / 1000, 2),
        `${num(r.fleet.ok)}/${num(r.fleet.matched)}`,
        num(r.fleet.failed),
        num(r.fleet.bytes / 2 ** 20, 2),
        num(r.fleet.rssAfterMiB),
      ]),
      notes: [
        `A command's time runs from when it was due to its answer's last byte (${COMMAND_CONNECTIONS} pooled connections); the simulated gateways answer at once, so this is the hub's own round trip.`,
        `They span ${num(COMMANDS / COMMAND_RATE, 0)} s; the hub pings a sixteenth of its connections every ${num(HEARTBEAT_MS / 16000, 2)} s and writes the telemetry it took once a second, in chunks.`,
        `healthz: GET /healthz (ms) between the commands, same rate: the hub's event loop answering the cheapest request, the peer that shows how much of a command's tail is the loop being busy elsewhere.`,
      ],
    },
    {
      title: 'Load generator and connection health',
      columns: ['gateways', 'gateway procs', 'their CPU %', 'connects', 'drops', 'refused', 'connect errors', 'hub errors', 'GET /v1/gateways ms', 'its MiB', 'listed online'],
      rows: results.map((r) => [
        num(r.gateways),
        num(r.workers),
        num(r.steady.workersCpuPct, 1),
        num(r.health.connects),
        describe(r.health.drops),
        describe(r.health.refused),
        num(r.health.connectErrors),
        describe(r.health.hubErrors),
        num(r.list.ms),
        num(r.list.bytes / 2 ** 20, 2),
        num(r.list.online),
      ]),
      notes: ['drops: open connections the hub closed (by close code); a dropped gateway reconnects after 1–3 s. The machine: 2 cores shared by the hub, the gateway processes and the bench.'],
    },
  ];

  const at = (n: number) => results.find((r) => r.gateways === n);
  const largest = results.reduce<SizeResult | undefined>((a, r) => (a === undefined || r.gateways > a.gateways ? r : a), undefined);
  const summary: string[] = [];
  const r10 = at(10_000);
  if (r10) {
    const mb = MB(r10.rss.maxMiB);
    const good = r10.ramp.complete && mb < GOAL_RSS_MB;
    summary.push(
      `goal 10k gateways on one hub in < 1 GB RSS: ${num(r10.ramp.online)} online, RSS max ${num(mb)} MB (${num(mb / GOAL_RSS_MB, 2)}× the goal; ${num(MB(r10.rss.steadyEndMiB))} MB in steady state) — ${good ? 'met' : 'NOT met'}`,
    );
  } else {
    summary.push('goal 10k gateways on one hub in < 1 GB RSS: not measured (10000 not among the sizes)');
  }
  const r5 = at(5000);
  if (r5) {
    const good = r5.commands.ok === r5.commands.sent && r5.commands.p99 < GOAL_P99_MS;
    summary.push(
      `goal command round trip p99 < 100 ms at 5k: p99 ${num(r5.commands.p99, 1)} ms (${num(r5.commands.p99 / GOAL_P99_MS, 2)}× the goal; /healthz p99 ${num(r5.commands.healthz.p99, 1)} ms alongside), ${r5.commands.ok}/${r5.commands.sent} ok — ${good ? 'met' : 'NOT met'}`,
    );
  } else {
    summary.push('goal command round trip p99 < 100 ms at 5k: not measured (5000 not among the sizes)');
  }
  // Below a few thousand gateways V8's heap growing and shrinking is larger than the fleet's share.
  if (results.length >= 2 && Math.max(...results.map((r) => r.gateways)) - Math.min(...results.map((r) => r.gateways)) >= 4000) {
    // Least squares over the sizes' steady RSS: what one more gateway costs, and the hub's base.
    const xs = results.map((r) => r.gateways);
    const ys = results.map((r) => r.rss.steadyEndMiB);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    const base = my - slope * mx;
    if (slope > 0) {
      summary.push(
        `memory: ${num(slope * 1024, 1)} KiB of RSS per gateway over ${num(base)} MiB (least squares over the steady RSS of ${xs.map((x) => num(x)).join(', ')}): ~${num((GOAL_RSS_MB / 1.048576 - base) / slope)} gateways in 1 GB, before the headroom a fleet command needs`,
      );
    }
  }
  if (largest && largest.steady.hubCpuUsPerMessage > 0) {
    const perCore = 1e6 / largest.steady.hubCpuUsPerMessage;
    summary.push(
      `CPU: at ${num(largest.gateways)} gateways the hub spent ${num(largest.steady.hubCpuUsPerMessage)} µs per telemetry message taken (heartbeats included), ~${num(perCore)} messages/s per core: CPU alone would carry ~${num((perCore * TELEMETRY_MS) / 1000)} gateways per core at one message per ${TELEMETRY_MS / 1000} s; what grows first with the fleet is the event loop's longest stall (/healthz max ${num(largest.commands.healthz.max, 1)} ms at ${num(largest.gateways)})`,
    );
  }
  // A stall at a heartbeat sweep: the probe was due within its own wait of a multiple of the interval
  // (counted from when the hub said it listens, up to 200 ms after its timer started).
  const atSweep = (x: { atS: number; ms: number }) => {
    const phase = (x.atS * 1000) % HEARTBEAT_MS;
    return Math.min(phase, HEARTBEAT_MS - phase) < x.ms + 200;
  };
  summary.push(
    `loop stalls (/healthz > ${STALL_MS} ms) while the commands ran: ${results
      .map((r) => {
        const st = r.commands.healthz.stalls;
        const sweep = st.filter(atSweep);
        return `${num(r.gateways)}: ${st.length} probes, ${sweep.length} of them at a heartbeat sweep (longest there ${num(Math.max(0, ...sweep.map((x) => x.ms)), 0)} ms, elsewhere ${num(Math.max(0, ...st.filter((x) => !atSweep(x)).map((x) => x.ms)), 0)} ms)`;
      })
      .join('; ')}`,
  );
  const lost = results.filter((r) => r.steady.accepted < r.steady.sent || sum(r.health.drops) > 0);
  if (lost.length > 0) summary.push(`telemetry lost or connections dropped at: ${lost.map((r) => `${num(r.gateways)} (${num(r.steady.sent - r.steady.accepted)} messages, ${sum(r.health.drops)} drops)`).join(', ')}`);

  return {
    tables,
    summary,
    json: { settings: { sizes: SIZES, steadyS: STEADY_S, commands: COMMANDS, commandRate: COMMAND_RATE, heartbeatMs: HEARTBEAT_MS, connectPerSec: CONNECT_PER_SEC, telemetryMs: TELEMETRY_MS }, results },
  };
}

export const fleetBench: BenchSection = {
  name: 'fleet',
  description: 'one hub, 1k/5k/10k simulated gateways: RSS, CPU, telemetry ingest, command round trip',
  run,
};
