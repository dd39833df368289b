// `npm run bench -- fleet-replicas`: two hub replicas (`storegw hub` child
// processes on one PostgreSQL database made for the run and dropped after it)
// holding N simulated gateways between them (peers/fleet-gateways.ts; gateway
// i dials replica i mod 2 first). Per run:
//
// 1. Steady state: each replica's RSS and CPU, the telemetry stored (rows in
//    the database) against what was sent, and `status` commands through the
//    ops API asked of a random replica, so about half are routed across (a
//    relay row and a NOTIFY each way). Goal (issue 17): p99 ≤ 100 ms.
// 2. One replica is SIGKILLed under load (commands still going out at the same
//    rate). Its gateways redial with the agent's full-jitter backoff
//    (src/fleet/agent/backoff.ts), moving to the other replica after a failed
//    dial as a load balancer would send them: the time until every gateway is
//    connected again. Every command asked around the kill is matched with what
//    the gateways saw: lost (asked, and neither answered nor honestly told
//    timeout/offline/disconnected/busy, or told ok with no gateway having
//    acted) and executed twice must both be 0. Telemetry sent and stored around
//    the kill: the killed replica's unflushed batch (up to flushIntervalMs) is
//    gone from it, and the gateways send again what it had not acknowledged
//    (the acks feature, as the agent does), so sent, not stored must be 0;
//    ticks that fell while a gateway was disconnected are not sent at all (the
//    real agent spools them and sends them later; these simulated gateways
//    have no spool for them, so they are counted apart, not faked).
//
// The scenario runs twice (STOREGW_BENCH_FLEET_REPLICAS_RUNS), each on a fresh
// pair of replicas and a fresh fleet, one database for both. Two shared cores
// carry both replicas, PostgreSQL, the gateway processes and the bench: the
// figures compare, they do not size.
//
// STOREGW_BENCH_FLEET_REPLICAS_SIZE=2000   gateways (default 10000)
// STOREGW_BENCH_FLEET_REPLICAS_RUNS=1      kill runs (default 2)
// STOREGW_BENCH_FLEET_REPLICAS_STEADY_S=10 steady window (default 20)
// STOREGW_BENCH_FLEET_REPLICAS_SYNC_COMMIT=off  a diagnostic peer: the hub's database role
//   gets synchronous_commit = off (commits not waiting for the WAL flush), to see how much
//   of a replica's store queue is fsync. Not what the hub does by itself.
//
// Each replica's store is one connection that runs its statements in turn
// (store/sql/serial.ts), and every hello writes to it (by group commit: the
// hellos heard while the previous write was under way in one transaction):
// after the ramp, and after the kill on the survivor, the bench waits for the
// hellos to be in the database (presence rows) and reports how long that took,
// since telemetry writes wait in the same queue. (Routed commands do not: a
// connection of their own looks up the holder and writes the relay rows.)
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Pool, request } from 'undici';
import { postgresStore } from '../../src/fleet/hub/store/postgres-config.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.js';
import { distFile, spawnNode, spawnPeer, type Peer } from './harness.js';
import { fleetGatewayId, fleetGatewayToken, workerJson, type CommandSeen, type StartRequest, type WorkerStats } from './peers/fleet-gateways-api.js';
import { percentileOfSorted } from './load.js';
import { cpuSeconds, rssMiB } from './proc.js';
import type { BenchSection, SectionReport } from './section.js';
import { num, type Table } from './table.js';

const SIZE = Number(process.env.STOREGW_BENCH_FLEET_REPLICAS_SIZE ?? 10_000);
const RUNS = Number(process.env.STOREGW_BENCH_FLEET_REPLICAS_RUNS ?? 2);
const STEADY_S = Number(process.env.STOREGW_BENCH_FLEET_REPLICAS_STEADY_S ?? 20);
const SYNC_COMMIT_OFF = process.env.STOREGW_BENCH_FLEET_REPLICAS_SYNC_COMMIT === 'off';
const REPLICAS = 2;
const CONNECT_PER_SEC = 500;
const TELEMETRY_MS = 10_000;
/** The hub's defaults, written out: the replica heartbeat is the connections' one. */
const HEARTBEAT_MS = 15_000;
const FLUSH_MS = 1000;
const COMMAND_TIMEOUT_MS = 10_000;
/** The agent's defaults (edge-config/schema.ts fleet.reconnect, fleet.heartbeatIntervalMs). */
const AGENT_BACKOFF = { baseMs: 1000, maxMs: 60_000, heartbeatMs: 15_000 };
const COMMAND_RATE = 20;
const STEADY_COMMANDS = 320;
/** Commands keep going this long before the kill. */
const BEFORE_KILL_MS = 5000;
/** A command with no HTTP answer this long after it was asked is lost (the hub's own timeout is COMMAND_TIMEOUT_MS). */
const ANSWER_DEADLINE_MS = 120_000;
/** An answer later than this is counted as late (past the hub's timeout and a margin). */
const LATE_MS = COMMAND_TIMEOUT_MS + 5000;
/** How long the bench waits for the hellos to be in the database, or telemetry to stop arriving. */
const CATCH_UP_DEADLINE_MS = 300_000;
const RECONNECT_DEADLINE_MS = 180_000;
/**
 * Connections to each replica for the commands: enough that a command waiting out a timeout
 * never holds up the next in the bench's own pool (with 8, a replica's 8 connections each
 * waiting 10 s on a routed command made direct commands queue behind them).
 */
const COMMAND_CONNECTIONS = 64;
const PER_WORKER = 2500;
const MAX_WORKERS = 4;
const GOAL_P99_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

interface Hub extends Peer {
  pid: number;
  index: number;
  killed: boolean;
  kill(): void;
}

/** The replicas' shared folder: tokens, the ops token and hub.yaml. */
function writeHubFiles(dir: string, db: TestDatabase, seed: string, opsToken: string): string {
  const tokens = ['# gateway id -> sha256 of its token'];
  for (let i = 0; i < SIZE; i++) tokens.push(`${fleetGatewayId(i)}: "sha256:${sha256(fleetGatewayToken(seed, fleetGatewayId(i)))}"`);
  writeFileSync(join(dir, 'gateway-tokens.yaml'), `${tokens.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'ops.token'), `${opsToken}\n`, { mode: 0o600 });
  const file = join(dir, 'hub.yaml');
  writeFileSync(
    file,
    `version: 1
listen: { host: 127.0.0.1, port: 0 }
store: { postgres: ${JSON.stringify(db.config)}, flushIntervalMs: ${FLUSH_MS} }
connections: { heartbeatIntervalMs: ${HEARTBEAT_MS} }
commands: { timeoutMs: ${COMMAND_TIMEOUT_MS} }
auth:
  gatewayTokensFile: ./gateway-tokens.yaml
  opsTokens:
    - { tokenFile: ./ops.token, role: operator, name: bench }
`,
  );
  return file;
}

async function startHub(index: number, dir: string, config: string): Promise<Hub> {
  let pid = 0;
  const peer = await spawnPeer({
    name: `storegw hub replica ${index === 0 ? 'A' : 'B'}`,
    command: process.execPath,
    args: [distFile('src/cli/main.js'), 'hub', '--config', config],
    cwd: dir,
    env: { LOG_LEVEL: 'info' },
    timeoutMs: 60_000,
    readyLine: (line) => {
      if (!line.includes('"hub started"')) return undefined;
      const v = JSON.parse(line) as { url: string; pid: number };
      pid = v.pid;
      return v.url;
    },
  });
  const hub: Hub = {
    ...peer,
    pid,
    index,
    killed: false,
    kill() {
      hub.killed = true;
      process.kill(pid, 'SIGKILL');
    },
  };
  return hub;
}

/** One command asked through the ops API, and what became of it. */
interface Asked {
  gateway: string;
  replica: number;
  /** Whether the gateway's first replica is another than the one asked (routed, unless it moved). */
  routed: boolean;
  /** Date.now() when asked. */
  at: number;
  /** ms from when it was due to the answer's last byte. */
  ms?: number;
  /** HTTP status, 'no answer' (past the deadline) or the client's error (the replica asked was killed). */
  outcome: string;
  /** The command id, from the answer's body (ok, timeout, disconnected, not sent). */
  id?: string;
  ok?: boolean;
}

class Commander {
  readonly asked: Asked[] = [];
  readonly #pools: Pool[];
  readonly #inFlight: Promise<void>[] = [];
  #stopped = false;

  constructor(
    readonly hubs: Hub[],
    readonly opsToken: string,
  ) {
    this.#pools = hubs.map((h) => new Pool(h.url, { connections: COMMAND_CONNECTIONS }));
  }

  /** Asks `count` commands (or until stop()) at COMMAND_RATE/s, each of a random live replica for a random gateway. */
  async run(count = Number.POSITIVE_INFINITY): Promise<void> {
    const start = performance.now();
    for (let i = 0; i < count && !this.#stopped; i++) {
      const due = start + (i * 1000) / COMMAND_RATE;
      await sleep(due - performance.now());
      const live = this.hubs.filter((h) => !h.killed);
      const hub = live[Math.floor(Math.random() * live.length)]!;
      const g = Math.floor(Math.random() * SIZE);
      const a: Asked = { gateway: fleetGatewayId(g), replica: hub.index, routed: g % REPLICAS !== hub.index, at: Date.now(), outcome: 'pending' };
      this.asked.push(a);
      const deadline = AbortSignal.timeout(ANSWER_DEADLINE_MS);
      this.#inFlight.push(
        this.#pools[hub.index]!.request({
          path: `/v1/gateways/${a.gateway}/commands`,
          method: 'POST',
          headers: { authorization: `Bearer ${this.opsToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ command: 'status', args: {} }),
          signal: deadline,
          headersTimeout: ANSWER_DEADLINE_MS,
          bodyTimeout: ANSWER_DEADLINE_MS,
        })
          .then(async (res) => {
            const body = (await res.body.json()) as { id?: string; ok?: boolean };
            a.ms = performance.now() - due;
            a.outcome = String(res.statusCode);
            if (typeof body.id === 'string') a.id = body.id;
            if (typeof body.ok === 'boolean') a.ok = body.ok;
          })
          .catch((e: Error) => {
            a.outcome = deadline.aborted ? 'no answer' : `client error (${(e as { code?: string }).code ?? e.name})`;
          }),
      );
    }
  }

  stop(): void {
    this.#stopped = true;
  }

  async settled(): Promise<void> {
    await Promise.all(this.#inFlight);
  }

  async close(): Promise<void> {
    await Promise.all(this.#pools.map((p) => p.destroy()));
  }
}

interface CommandStats {
  asked: number;
  ok: number;
  statuses: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  /** Answered later than LATE_MS. */
  late: number;
  direct: { n: number; p99: number };
  routed: { n: number; p99: number };
}

function commandStats(asked: Asked[]): CommandStats {
  const statuses: Record<string, number> = {};
  for (const a of asked) statuses[a.outcome] = (statuses[a.outcome] ?? 0) + 1;
  const sorted = (list: Asked[]) =>
    list
      .filter((a) => a.ms !== undefined)
      .map((a) => a.ms!)
      .sort((x, y) => x - y);
  const all = sorted(asked);
  const direct = sorted(asked.filter((a) => !a.routed));
  const routed = sorted(asked.filter((a) => a.routed));
  return {
    asked: asked.length,
    ok: asked.filter((a) => a.outcome === '200' && a.ok === true).length,
    statuses,
    p50: percentileOfSorted(all, 0.5),
    p99: percentileOfSorted(all, 0.99),
    max: all.at(-1) ?? Number.NaN,
    late: all.filter((ms) => ms > LATE_MS).length,
    direct: { n: direct.length, p99: percentileOfSorted(direct, 0.99) },
    routed: { n: routed.length, p99: percentileOfSorted(routed, 0.99) },
  };
}

/** What became of the commands asked around the kill, matched with what the gateways saw. */
interface KillCommands {
  asked: number;
  byOutcome: Record<string, number>;
  /** Asked, and no HTTP answer within ANSWER_DEADLINE_MS, or answered ok with no gateway having seen the id. */
  lost: number;
  lostDetail: { gateway: string; outcome: string; id?: string }[];
  /** Ids a gateway acted on more than once. */
  executedTwice: number;
  /** Ids that reached a gateway more than once (answered from memory). */
  deliveredTwice: number;
  /** Answered timeout or disconnected, yet the gateway had acted on it (an honest "unknown"). */
  unknownButExecuted: number;
  /** Answered 503 (not sent), yet a gateway saw the id: a broken promise, as a loss is. */
  notSentButSeen: number;
  /** The replica asked was killed before answering: executed or not, found by gateway among ids no answer claimed. */
  askerKilled: number;
  askerKilledExecuted: number;
}

function matchCommands(asked: Asked[], seen: CommandSeen[]): KillCommands {
  const byId = new Map(seen.map((c) => [c.id, c]));
  const claimed = new Set(asked.flatMap((a) => (a.id ? [a.id] : [])));
  const unclaimedByGateway = new Map<string, CommandSeen[]>();
  for (const c of seen) if (!claimed.has(c.id)) unclaimedByGateway.set(c.gateway, [...(unclaimedByGateway.get(c.gateway) ?? []), c]);
  const byOutcome: Record<string, number> = {};
  const lostDetail: KillCommands['lostDetail'] = [];
  let unknownButExecuted = 0;
  let notSentButSeen = 0;
  let askerKilled = 0;
  let askerKilledExecuted = 0;
  for (const a of asked) {
    byOutcome[a.outcome] = (byOutcome[a.outcome] ?? 0) + 1;
    if (a.outcome === 'no answer' || a.outcome === 'pending') lostDetail.push({ gateway: a.gateway, outcome: a.outcome });
    else if (a.outcome === '200' && a.ok === true && (a.id === undefined || !byId.has(a.id))) lostDetail.push({ gateway: a.gateway, outcome: 'ok, yet no gateway saw it', ...(a.id && { id: a.id }) });
    else if ((a.outcome === '504' || a.outcome === '502') && a.id !== undefined && byId.has(a.id)) unknownButExecuted++;
    else if (a.outcome === '503' && a.id !== undefined && byId.has(a.id)) notSentButSeen++;
    else if (a.outcome.startsWith('client error')) {
      askerKilled++;
      const candidates = unclaimedByGateway.get(a.gateway);
      if (candidates && candidates.length > 0) {
        candidates.shift();
        askerKilledExecuted++;
      }
    }
  }
  return {
    asked: asked.length,
    byOutcome,
    lost: lostDetail.length,
    lostDetail: lostDetail.slice(0, 20),
    executedTwice: seen.filter((c) => c.executions > 1).length,
    deliveredTwice: seen.filter((c) => c.deliveries > 1).length,
    unknownButExecuted,
    notSentButSeen,
    askerKilled,
    askerKilledExecuted,
  };
}

interface RunResult {
  run: number;
  gateways: number;
  workers: number;
  ramp: { seconds: number; online: number[]; complete: boolean; helloStoredS: number };
  steady: {
    seconds: number;
    rssMiB: number[];
    rssMaxMiB: number[];
    cpuPct: number[];
    held: number[];
    workersCpuPct: number;
    sent: number;
    /** 2.5 s after the window (two flushes), and once the count stopped growing, storedAfterS after the window. */
    storedSoon: number;
    stored: number;
    storedAfterS: number;
  };
  commands: CommandStats;
  kill: {
    replica: string;
    held: number;
    reconnectS: number;
    reconnected: boolean;
    /** From the kill until the survivor's presence rows for them are written. */
    rehelloStoredS: number;
    survivorHolds: number;
    dialsFailed: number;
    commands: KillCommands;
    commandStats: CommandStats;
    /** resent: sent again after a reconnect, not acked on the connection that first carried it. */
    telemetry: { windowS: number; sent: number; stored: number; unsent: number; resent: number };
    survivorRssMiB: number;
  };
}

async function countTelemetry(client: pg.Client, from: number, to: number): Promise<number> {
  const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM telemetry WHERE ts >= $1 AND ts < $2', [from, to]);
  return Number(r.rows[0]?.n ?? 0);
}

/** Presence rows written since `since` (ms): the hellos a replica's store queue has got through. */
async function presenceSince(client: pg.Client, since: number): Promise<number> {
  const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM hub_presence WHERE since >= $1', [since]);
  return Number(r.rows[0]?.n ?? 0);
}

/** Seconds from `from` (performance.now()) until `want` presence rows since `sinceMs` are written, or NaN past the deadline. */
async function presenceCaughtUp(client: pg.Client, sinceMs: number, want: number, from: number): Promise<number> {
  for (;;) {
    if ((await presenceSince(client, sinceMs)) >= want) return (performance.now() - from) / 1000;
    if (performance.now() - from > CATCH_UP_DEADLINE_MS) return Number.NaN;
    await sleep(250);
  }
}

/** Telemetry rows with ts in [from, to) once the count has stopped growing for 3 s, and when it stopped (s after `to`). */
async function storedEventually(client: pg.Client, from: number, to: number): Promise<{ stored: number; afterS: number }> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const n = await countTelemetry(client, from, to);
    if (n !== last) {
      last = n;
      lastChange = Date.now();
    }
    if (Date.now() - lastChange >= 3000 || Date.now() - to > CATCH_UP_DEADLINE_MS) return { stored: last, afterS: (lastChange - to) / 1000 };
    await sleep(500);
  }
}

async function readyGateways(hub: Hub): Promise<number> {
  const res = await request(`${hub.url}/readyz`);
  return ((await res.body.json()) as { gateways: number }).gateways;
}

async function measure(run: number, db: TestDatabase, client: pg.Client): Promise<RunResult> {
  const seed = randomBytes(16).toString('hex');
  const opsToken = randomBytes(24).toString('base64url');
  const dir = mkdtempSync(join(tmpdir(), 'storegw-bench-fleet-replicas-'));
  const peers: Peer[] = [];
  const workers: (Peer & { pid: number })[] = [];
  let commander: Commander | undefined;
  try {
    const config = writeHubFiles(dir, db, seed, opsToken);
    const hubs: Hub[] = [];
    for (let i = 0; i < REPLICAS; i++) {
      const h = await startHub(i, dir, config);
      hubs.push(h);
      peers.push(h);
    }
    const count = Math.min(MAX_WORKERS, Math.ceil(SIZE / PER_WORKER));
    for (let k = 0; k < count; k++) {
      const peer = await spawnNode(`fleet gateways ${k + 1}`, 'test/bench/peers/fleet-gateways.js');
      peers.push(peer);
      workers.push({ ...peer, pid: (await workerJson<WorkerStats>(peer, 'GET', '/stats')).pid });
    }
    const stats = async (q = '') => Promise.all(workers.map((w) => workerJson<WorkerStats>(w, 'GET', `/stats${q}`)));
    const urls = hubs.map((h) => `${h.url.replace(/^http/, 'ws')}/v1/gateways/connect`);

    // Ramp: every gateway connects to its first replica (i mod 2) and says hello.
    const rampStart = performance.now();
    const rampStartMs = Date.now();
    const share = Math.ceil(SIZE / count);
    await Promise.all(
      workers.map((w, k) => {
        const start: StartRequest = {
          url: urls[0]!,
          urls,
          agentBackoff: AGENT_BACKOFF,
          seed,
          from: k * share,
          to: Math.min(SIZE, (k + 1) * share),
          connectPerSec: CONNECT_PER_SEC / count,
          telemetryIntervalMs: TELEMETRY_MS,
          regions: 8,
        };
        return workerJson(w, 'POST', '/start', start);
      }),
    );
    const rampDeadline = rampStart + ((SIZE / CONNECT_PER_SEC) * 3 + 60) * 1000;
    let online: number[] = [];
    for (;;) {
      online = await Promise.all(hubs.map(readyGateways));
      if (online.reduce((s, n) => s + n, 0) >= SIZE || performance.now() > rampDeadline) break;
      await sleep(200);
    }
    const rampSeconds = (performance.now() - rampStart) / 1000;
    const helloStoredS = await presenceCaughtUp(client, rampStartMs, SIZE, rampStart);
    process.stdout.write(
      `  run ${run}: ${num(SIZE)} gateways, ${online.map((n) => num(n)).join(' + ')} online after ${num(rampSeconds, 1)} s, their hellos in the database after ${num(helloStoredS, 1)} s\n`,
    );

    // Steady state: a telemetry interval to settle, then the window; RSS sampled every second.
    await sleep(TELEMETRY_MS);
    const rssMax = hubs.map(() => 0);
    const sampler = setInterval(() => hubs.forEach((h, i) => (rssMax[i] = Math.max(rssMax[i]!, rssMiB(h.pid)))), 1000);
    const t1 = Math.ceil(Date.now() / 1000) * 1000;
    await sleep(t1 - Date.now());
    const cpu1 = hubs.map((h) => cpuSeconds(h.pid));
    const wcpu1 = workers.reduce((s, w) => s + cpuSeconds(w.pid), 0);
    const p1 = performance.now();
    // The commands run inside the window: the replicas' CPU includes them, as in production.
    commander = new Commander(hubs, opsToken);
    const steadyCommands = commander.run(STEADY_COMMANDS);
    const t2 = t1 + STEADY_S * 1000;
    await sleep(t2 - Date.now());
    const wall = (performance.now() - p1) / 1000;
    const cpu2 = hubs.map((h) => cpuSeconds(h.pid));
    const wcpu2 = workers.reduce((s, w) => s + cpuSeconds(w.pid), 0);
    const rssSteady = hubs.map((h) => rssMiB(h.pid));
    const held = await Promise.all(hubs.map(readyGateways));
    await steadyCommands;
    await commander.settled();
    const steadyStats = commandStats(commander.asked);
    await sleep(FLUSH_MS * 2.5);
    const storedSoon = await countTelemetry(client, t1, t2);
    const { stored, afterS: storedAfterS } = await storedEventually(client, t1, t2);
    const sent = (await stats(`?from=${t1}&to=${t2}`)).reduce((s, w) => s + (w.sentInWindow ?? 0), 0);
    clearInterval(sampler);
    await commander.close();

    // The kill: commands going at the same rate, then SIGKILL to replica A.
    commander = new Commander(hubs, opsToken);
    const victim = hubs[0]!;
    const survivor = hubs[1]!;
    const before = await stats();
    const unsent0 = before.reduce((s, w) => s + w.telemetryUnsent, 0);
    const resent0 = before.reduce((s, w) => s + w.telemetryResent, 0);
    const dials0 = before.reduce((s, w) => s + w.dialsFailed, 0);
    const heldByVictim = await readyGateways(victim);
    const k0 = Math.floor(Date.now() / 1000) * 1000;
    const killCommands = commander.run();
    await sleep(BEFORE_KILL_MS);
    const killedAt = performance.now();
    const killedAtMs = Date.now();
    victim.kill();
    process.stdout.write(`  run ${run}: replica A (${num(heldByVictim)} gateways) killed\n`);
    let reconnectS = Number.NaN;
    let survivorHolds = 0;
    for (;;) {
      const open = (await stats()).reduce((s, w) => s + w.open, 0);
      survivorHolds = await readyGateways(survivor);
      if (survivorHolds >= SIZE && open >= SIZE) {
        reconnectS = (performance.now() - killedAt) / 1000;
        break;
      }
      if (performance.now() - killedAt > RECONNECT_DEADLINE_MS) break;
      await sleep(100);
    }
    const rehelloStoredS = await presenceCaughtUp(client, killedAtMs, heldByVictim, killedAt);
    process.stdout.write(
      `  run ${run}: ${num(survivorHolds)} on replica B ${Number.isFinite(reconnectS) ? `after ${num(reconnectS, 1)} s` : `after ${RECONNECT_DEADLINE_MS / 1000} s (not all)`}, their hellos in the database after ${num(rehelloStoredS, 1)} s\n`,
    );
    // Commands on past the reconnect for one command timeout and a bit, so that those routed to the dead replica have timed out.
    await sleep(COMMAND_TIMEOUT_MS + 2000);
    commander.stop();
    await killCommands;
    await commander.settled();
    const k1 = Math.floor(Date.now() / 1000) * 1000;
    await sleep(FLUSH_MS * 2.5);
    const after = await stats(`?from=${k0}&to=${k1}`);
    const seen = (await Promise.all(workers.map((w) => workerJson<CommandSeen[]>(w, 'GET', `/commands?since=${killedAtMs - BEFORE_KILL_MS - 1000}`)))).flat();
    const killMatched = matchCommands(commander.asked, seen);
    const killStats = commandStats(commander.asked);
    const killStored = (await storedEventually(client, k0, k1)).stored;

    return {
      run,
      gateways: SIZE,
      workers: count,
      ramp: { seconds: rampSeconds, online, complete: online.reduce((s, n) => s + n, 0) >= SIZE, helloStoredS },
      steady: {
        seconds: wall,
        rssMiB: rssSteady,
        rssMaxMiB: rssMax,
        cpuPct: hubs.map((_, i) => ((cpu2[i]! - cpu1[i]!) / wall) * 100),
        held,
        workersCpuPct: ((wcpu2 - wcpu1) / wall) * 100,
        sent,
        storedSoon,
        stored,
        storedAfterS,
      },
      commands: steadyStats,
      kill: {
        replica: 'A',
        held: heldByVictim,
        reconnectS,
        reconnected: Number.isFinite(reconnectS),
        rehelloStoredS,
        survivorHolds,
        dialsFailed: after.reduce((s, w) => s + w.dialsFailed, 0) - dials0,
        commands: killMatched,
        commandStats: killStats,
        telemetry: {
          windowS: (k1 - k0) / 1000,
          sent: after.reduce((s, w) => s + (w.sentInWindow ?? 0), 0),
          stored: killStored,
          unsent: after.reduce((s, w) => s + w.telemetryUnsent, 0) - unsent0,
          resent: after.reduce((s, w) => s + w.telemetryResent, 0) - resent0,
        },
        survivorRssMiB: rssMiB(survivor.pid),
      },
    };
  } finally {
    await commander?.close();
    await Promise.all(workers.map((w) => workerJson(w, 'POST', '/stop').catch(() => undefined)));
    for (const p of peers) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const describe = (m: Record<string, number>) =>
  Object.keys(m).length === 0
    ? '0'
    : Object.entries(m)
        .map(([k, v]) => `${v}×${k}`)
        .join(' ');

async function run(): Promise<SectionReport> {
  const skip = postgresSkipReason();
  if (skip !== undefined) return { tables: [], summary: [`skipped: ${skip}`], json: { skipped: skip } };
  const db = createTestDatabase();
  if (SYNC_COMMIT_OFF) db.admin(`ALTER ROLE ${db.name} SET synchronous_commit = off`);
  const connection = postgresStore(db.config);
  const client = new pg.Client({ host: connection.host, port: connection.port, database: connection.database, user: connection.user, password: connection.password });
  const results: RunResult[] = [];
  try {
    await client.connect();
    for (let r = 1; r <= RUNS; r++) results.push(await measure(r, db, client));
  } finally {
    await client.end().catch(() => undefined);
    db.drop();
  }

  const tables: Table[] = [
    {
      title: `Two hub replicas on one PostgreSQL${SYNC_COMMIT_OFF ? ' (diagnostic: synchronous_commit = off)' : ''}, ${num(SIZE)} gateways (gateway i on replica i mod 2; telemetry every ${TELEMETRY_MS / 1000} s; steady window ${STEADY_S} s)`,
      columns: ['run', 'ramp s', 'hellos stored s', 'held A / B', 'RSS A / B MiB', 'RSS max A / B MiB', 'CPU % A / B', 'gateway procs CPU %', 'sent/s', 'stored/s by +2.5 s', 'stored/s', 'stored/sent', 'last stored +s'],
      rows: results.map((r) => [
        String(r.run),
        `${num(r.ramp.seconds, 1)}${r.ramp.complete ? '' : ' (not all)'}`,
        num(r.ramp.helloStoredS, 1),
        r.steady.held.map((n) => num(n)).join(' / '),
        r.steady.rssMiB.map((n) => num(n)).join(' / '),
        r.steady.rssMaxMiB.map((n) => num(n)).join(' / '),
        r.steady.cpuPct.map((n) => num(n, 1)).join(' / '),
        num(r.steady.workersCpuPct, 1),
        num(r.steady.sent / STEADY_S, 1),
        num(r.steady.storedSoon / STEADY_S, 1),
        num(r.steady.stored / STEADY_S, 1),
        num(r.steady.sent ? r.steady.stored / r.steady.sent : Number.NaN, 3),
        num(r.steady.storedAfterS, 1),
      ]),
      notes: [
        'RSS at the end of the window and its maximum over it (sampled each second); CPU: each replica\'s user + system over the window, % of one core, with the commands below running in it.',
        'hellos stored: from the first connect until every gateway\'s presence row is written (each replica\'s store queue got through the hellos); the window starts after it and one telemetry interval.',
        'stored: telemetry rows in the database with ts in the window, 2.5 s after it (two flushes) and once the count stopped growing (last stored: when it was first read at its final value, after the window\'s end); sent: what the gateways sent with ts in it.',
      ],
    },
    {
      title: `Commands in the steady window: POST /v1/gateways/<id>/commands status, ${STEADY_COMMANDS} at ${COMMAND_RATE}/s, each asked of a random replica (ms)`,
      columns: ['run', 'ok', 'p50', 'p99', 'max', `> ${LATE_MS / 1000} s`, 'p99 / goal', 'direct n', 'direct p99', 'routed n', 'routed p99', 'other answers'],
      rows: results.map((r) => {
        const c = r.commands;
        const other = Object.fromEntries(Object.entries(c.statuses).filter(([k]) => k !== '200'));
        return [String(r.run), `${c.ok}/${c.asked}`, num(c.p50, 1), num(c.p99, 1), num(c.max, 1), num(c.late), `${num(c.p99 / GOAL_P99_MS, 2)}×`, num(c.direct.n), num(c.direct.p99, 1), num(c.routed.n), num(c.routed.p99, 1), describe(other)];
      }),
      notes: ['From when a command was due to its answer\'s last byte. routed: asked of the replica that does not hold the gateway (relay row + NOTIFY there and back).'],
    },
    {
      title: `SIGKILL to replica A under load (commands at ${COMMAND_RATE}/s from ${BEFORE_KILL_MS / 1000} s before the kill to ${(COMMAND_TIMEOUT_MS + 2000) / 1000} s after the last gateway is back)`,
      columns: ['run', 'A held', 'all back s', 'hellos stored s', 'on B', 'failed dials', 'asked', 'answers', 'lost', 'executed twice', 'delivered twice', 'timeout/502 yet executed', '503 (not sent) yet seen', 'asker killed (executed)', 'p99 ms'],
      rows: results.map((r) => {
        const k = r.kill;
        return [
          String(r.run),
          num(k.held),
          k.reconnected ? num(k.reconnectS, 1) : `> ${RECONNECT_DEADLINE_MS / 1000}`,
          num(k.rehelloStoredS, 1),
          num(k.survivorHolds),
          num(k.dialsFailed),
          num(k.commands.asked),
          describe(k.commands.byOutcome),
          `${num(k.commands.lost)}${k.commandStats.late > 0 ? ` (${num(k.commandStats.late)} late)` : ''}`,
          num(k.commands.executedTwice),
          num(k.commands.deliveredTwice),
          num(k.commands.unknownButExecuted),
          num(k.commands.notSentButSeen),
          `${num(k.commands.askerKilled)} (${num(k.commands.askerKilledExecuted)})`,
          num(k.commandStats.p99, 1),
        ];
      }),
      notes: [
        'all back: from the SIGKILL until replica B holds every gateway and every gateway process says all are open; hellos stored: until B\'s presence rows for them are written. Gateways redial with the agent\'s backoff (full jitter, 1 s base) and try the other replica after a failed dial.',
        'answers: HTTP status (200 ok, 504 timeout, 502 disconnected, 409 offline, 503 busy or not sent) or the client\'s error when the replica asked died with the request. A command for a gateway the dead replica held goes to the gateway once it is back on B, if in time; else 503, not sent (its row taken back).',
        `lost: no HTTP answer within ${ANSWER_DEADLINE_MS / 1000} s, or 200 ok with no gateway having seen the id; late: answered, but after ${LATE_MS / 1000} s (the hub's command timeout is ${COMMAND_TIMEOUT_MS / 1000} s).`,
        `executed twice: an id a gateway acted on more than once (it remembers ids as the agent does).`,
        'asker killed: asked of replica A, which died before answering; (executed): of those, how many a gateway acted on (matched by gateway among ids no answer named).',
      ],
    },
    {
      title: 'Telemetry around the kill (acks and resends as the agent; no spool for ticks while disconnected)',
      columns: ['run', 'window s', 'sent', 'stored', 'sent, not stored', 'resent (not acked)', 'ticks not sent (disconnected)'],
      rows: results.map((r) => {
        const t = r.kill.telemetry;
        return [String(r.run), num(t.windowS), num(t.sent), num(t.stored), num(t.sent - t.stored), num(t.resent), num(t.unsent)];
      }),
      notes: [
        `window: from ${BEFORE_KILL_MS / 1000} s before the kill to the end of the commands. sent, not stored: lost (before acks: the killed replica's socket buffers and its unflushed batch, up to ${FLUSH_MS} ms of its share). resent: sent again after a reconnect because no ack came on the connection that carried it (a stored one counts once: the store skips a message id it has).`,
        'ticks not sent: telemetry due while the gateway had no connection. The real agent spools these (fleet.spoolPath) and sends them once reconnected; the simulated gateways do not, so they are counted, not stored.',
      ],
    },
  ];

  const summary: string[] = [];
  const p99s = results.map((r) => r.commands.p99);
  const worst = Math.max(...p99s);
  summary.push(
    `goal command p99 ≤ ${GOAL_P99_MS} ms with ${num(SIZE)} gateways over two replicas (half routed): ${p99s.map((p) => num(p, 1)).join(', ')} ms — ${worst <= GOAL_P99_MS && results.every((r) => r.commands.ok === r.commands.asked) ? 'met' : 'NOT met'}`,
  );
  const lost = results.reduce((s, r) => s + r.kill.commands.lost, 0);
  const twice = results.reduce((s, r) => s + r.kill.commands.executedTwice, 0);
  const notSentSeen = results.reduce((s, r) => s + r.kill.commands.notSentButSeen, 0);
  summary.push(
    `kill -9 of a replica under load, ${results.length} run(s): commands lost ${lost}, executed twice ${twice}, answered not sent yet seen by a gateway ${notSentSeen} — ${lost === 0 && twice === 0 && notSentSeen === 0 ? 'met (0, 0 and 0)' : 'NOT met'}`,
  );
  summary.push(
    `hellos through each replica's store queue: ${results.map((r) => `${num(SIZE)} connected in ${num(r.ramp.seconds, 1)} s, in the database after ${num(r.ramp.helloStoredS, 1)} s; after the kill ${num(r.kill.held)} back on B in ${num(r.kill.reconnectS, 1)} s, in the database after ${num(r.kill.rehelloStoredS, 1)} s`).join('; ')} (telemetry writes wait in the same queue; routed commands have a connection of their own)`,
  );
  summary.push(
    `reconnect after the kill: ${results.map((r) => (r.kill.reconnected ? `${num(r.kill.held)} gateways back in ${num(r.kill.reconnectS, 1)} s` : `not all back in ${RECONNECT_DEADLINE_MS / 1000} s (${num(r.kill.survivorHolds)} on B)`)).join('; ')}`,
  );
  summary.push(
    `telemetry around the kill: ${results.map((r) => `${num(r.kill.telemetry.sent - r.kill.telemetry.stored)} of ${num(r.kill.telemetry.sent)} sent not stored (${num(r.kill.telemetry.resent)} resent, not acked), ${num(r.kill.telemetry.unsent)} ticks not sent while disconnected`).join('; ')} (the agent would spool the latter; the simulated gateways have no spool for them)`,
  );
  return { tables, summary, json: { settings: { size: SIZE, runs: RUNS, synchronousCommitOff: SYNC_COMMIT_OFF, steadyS: STEADY_S, connectPerSec: CONNECT_PER_SEC, telemetryMs: TELEMETRY_MS, heartbeatMs: HEARTBEAT_MS, flushMs: FLUSH_MS, commandTimeoutMs: COMMAND_TIMEOUT_MS, agentBackoff: AGENT_BACKOFF, commandRate: COMMAND_RATE }, results } };
}

export const fleetReplicasBench: BenchSection = {
  name: 'fleet-replicas',
  description: 'two hub replicas on PostgreSQL, N simulated gateways: RSS, CPU, routed commands, telemetry; one replica SIGKILLed under load, twice',
  run,
};
