// A share of the fleet bench's simulated gateways, in a process of its own so
// that neither the bench process's descriptors nor its CPU carry them all, and
// so that their CPU is not counted as the hub's. Controlled over a small HTTP
// API (POST /start, GET /stats, POST /stop); prints {"listening": url}.
//
// Each simulated gateway is one websocket and two timers, no protocol library
// on its side beyond JSON: it connects (at a bounded rate shared by the
// process), says hello, sends telemetry every interval from a random phase on
// (so a fleet's telemetry is spread evenly), answers every command at once with
// a `result`, and reconnects after a jittered pause if the hub drops it.
//
// For the fleet-replicas bench: several hub URLs (a gateway moves to the next
// after a failed dial, as a load balancer would send it to a live replica), the
// agent's own reconnect backoff, command ids remembered as the agent does (a
// repeated id is answered from memory, not acted on twice) and every id seen
// kept for the bench (GET /commands). The telemetry cadence, once started, runs
// on while the gateway is disconnected; those ticks are counted as unsent. The
// real agent spools them and sends them after reconnecting: these gateways have
// no spool for them. They do take acks as the agent does (the acks feature,
// with the agent's own bookkeeping, src/fleet/agent/unacked.ts): they ask for
// them on the upgrade, keep what a hub that gives them has not acked, and send
// it again, marked spooled, right after the hello of their next connection.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { reconnectDelay, refusedDelay } from '../../../src/fleet/agent/backoff.js';
import { Unacked } from '../../../src/fleet/agent/unacked.js';
import { ACKS_FEATURE, FEATURES_HEADER, offers } from '../../../src/fleet/protocol.js';
import { exitWithParent } from '../harness.js';
import { fleetGatewayId, fleetGatewayToken, type CommandSeen, type StartRequest, type WorkerStats } from './fleet-gateways-api.js';

const REGIONS = ['north', 'south', 'east', 'west', 'central', 'coast', 'alps', 'lakes'];
const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
const bump = (m: Record<string, number>, k: string | number) => (m[String(k)] = (m[String(k)] ?? 0) + 1);

/** As the agent's bound (agent.ts MAX_UNACKED). */
const MAX_UNACKED = 1000;

interface SimMessage {
  id: string;
  [field: string]: unknown;
}

class SimGateway {
  ws: WebSocket | undefined;
  open = false;
  /** The hub of the current connection acks what it committed. */
  acks = false;
  readonly unacked = new Unacked<SimMessage>(MAX_UNACKED);
  /** Not acked when a connection closed (or past the bound): sent again on the next, as the agent's spool does. */
  resend: SimMessage[] = [];
  phase: NodeJS.Timeout | undefined;
  every: NodeJS.Timeout | undefined;
  paused = false;
  pending: number;
  dead = 0;
  /** Added to the index to pick among several hub URLs; moved on after a failed dial. */
  shift = 0;
  /** Failed dials in a row, counted as the agent counts them (connection.ts). */
  failures = 0;
  openedAt: number | undefined;
  /** Results by command id, the last 1000 (the agent's CommandMemo). */
  readonly memo = new Map<string, unknown>();
  readonly base: { fiberRtt: number; lteRtt: number; load: number };

  constructor(
    readonly index: number,
    readonly id: string,
    readonly token: string,
    readonly region: string,
  ) {
    // Stores differ: some are busy, some have a slow fiber.
    this.base = { fiberRtt: 8 + (index % 17), lteRtt: 35 + (index % 29), load: 1 + (index % 7) };
    this.pending = index % 13 === 0 ? 40 + (index % 50) : 0;
  }

  get cadence(): boolean {
    return this.phase !== undefined || this.every !== undefined;
  }

  stopTimers(): void {
    clearTimeout(this.phase);
    clearInterval(this.every);
    this.phase = this.every = undefined;
  }
}

class Fleet {
  readonly gateways: SimGateway[] = [];
  readonly stats: Omit<WorkerStats, 'open' | 'gateways' | 'pid'> = { connects: 0, refused: {}, connectErrors: 0, drops: {}, telemetrySent: 0, telemetryResent: 0, telemetryUnsent: 0, dialsFailed: 0, commandsAnswered: {}, hubErrors: {} };
  /** Every command id the gateways were sent, for the bench to match with what it asked. */
  readonly commands = new Map<string, CommandSeen>();
  /** Telemetry sent per second of its ts: the bench counts what was sent within its steady window. */
  readonly sentPerSecond = new Map<number, number>();
  #opts: StartRequest | undefined;
  #queue: SimGateway[] = [];
  #pacer: NodeJS.Timeout | undefined;
  #stopping = false;

  start(o: StartRequest): void {
    if (this.#opts) throw new Error('already started');
    this.#opts = o;
    for (let i = o.from; i < o.to; i++) {
      const id = fleetGatewayId(i);
      this.gateways.push(new SimGateway(i, id, fleetGatewayToken(o.seed, id), REGIONS[i % Math.min(o.regions, REGIONS.length)]!));
    }
    this.#queue = [...this.gateways];
    // Connections are opened at the configured rate, in slices every 20 ms.
    const startedAt = Date.now();
    let opened = 0;
    this.#pacer = setInterval(() => {
      const due = Math.min(this.#queue.length, Math.floor(((Date.now() - startedAt) / 1000) * o.connectPerSec) - opened);
      for (let k = 0; k < due; k++) {
        opened++;
        this.#connect(this.#queue.shift()!);
      }
      if (this.#queue.length === 0) clearInterval(this.#pacer);
    }, 20);
  }

  get open(): number {
    let n = 0;
    for (const g of this.gateways) if (g.open) n++;
    return n;
  }

  #connect(g: SimGateway): void {
    const o = this.#opts!;
    if (this.#stopping) return;
    const url = o.urls && o.urls.length > 0 ? o.urls[(g.index + g.shift) % o.urls.length]! : o.url;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${g.token}`, [FEATURES_HEADER]: ACKS_FEATURE }, perMessageDeflate: false, handshakeTimeout: 30_000 });
    g.ws = ws;
    ws.on('upgrade', (res) => (g.acks = offers(res.headers[FEATURES_HEADER], ACKS_FEATURE)));
    let opened = false;
    let refusedWith: number | undefined;
    ws.on('unexpected-response', (_req, res) => {
      refusedWith = res.statusCode;
      bump(this.stats.refused, res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => {
      if (!opened) this.stats.connectErrors++;
    });
    ws.on('open', () => {
      opened = true;
      g.openedAt = Date.now();
      this.stats.connects++;
      g.open = true;
      ws.send(JSON.stringify(this.#hello(g)));
      for (const m of g.resend.splice(0)) {
        this.#send(g, ws, { ...m, spooled: true });
        this.stats.telemetryResent++;
      }
      // A random phase, then a fixed cadence: the fleet's telemetry is spread over the interval.
      // The cadence is the gateway's, not the connection's: it runs on through a reconnect.
      if (!g.cadence) {
        g.phase = setTimeout(() => {
          g.phase = undefined;
          this.#telemetry(g);
          g.every = setInterval(() => this.#telemetry(g), o.telemetryIntervalMs);
        }, Math.random() * o.telemetryIntervalMs);
      }
    });
    ws.on('message', (data) => this.#onMessage(g, data as Buffer));
    ws.on('close', (code) => {
      const wasOpen = g.open;
      g.open = false;
      g.acks = false;
      g.resend.push(...g.unacked.takeAll());
      if (g.ws === ws) g.ws = undefined;
      if (this.#stopping) return;
      if (wasOpen) bump(this.stats.drops, code);
      else {
        this.stats.dialsFailed++;
        // The next dial goes to the next replica.
        g.shift++;
      }
      const b = o.agentBackoff;
      if (!b) {
        // One step of an agent's jittered backoff is enough for the one-hub bench.
        setTimeout(() => this.#connect(g), 1000 + Math.random() * 2000);
        return;
      }
      // As HubConnection does: a connection that held for a heartbeat resets the count, any other close adds one.
      if (wasOpen && g.openedAt !== undefined && Date.now() - g.openedAt >= b.heartbeatMs) g.failures = 0;
      else g.failures++;
      const refused = refusedWith === 401 || refusedWith === 403;
      setTimeout(() => this.#connect(g), refused ? refusedDelay(b) : reconnectDelay(Math.max(0, g.failures - 1), b));
    });
  }

  #hello(g: SimGateway) {
    return { type: 'hello', id: randomUUID(), ts: Date.now(), store: { id: g.id, region: g.region, tags: ['bench', g.index % 10 === 0 ? 'pilot' : 'standard'] }, version: '0.1.0', configVersion: 'c0ffee000001', paths: this.#paths(g) };
  }

  #paths(g: SimGateway) {
    const jitter = () => Math.random() * 4 - 2;
    return [
      { name: 'fiber', state: 'up', score: round(95 + Math.random() * 5), rttMs: round(g.base.fiberRtt + jitter()), jitterMs: round(0.5 + Math.random()), lossPct: 0, handshakeAgeS: Math.floor(Math.random() * 120), rxBps: Math.floor(20_000 + Math.random() * 200_000 * g.base.load), txBps: Math.floor(10_000 + Math.random() * 80_000 * g.base.load) },
      { name: 'lte', state: 'up', score: round(70 + Math.random() * 15), rttMs: round(g.base.lteRtt + jitter() * 4), jitterMs: round(3 + Math.random() * 6), lossPct: round(Math.random() * 0.8, 2), handshakeAgeS: Math.floor(Math.random() * 120), rxBps: Math.floor(Math.random() * 2000), txBps: Math.floor(Math.random() * 2000) },
    ];
  }

  #telemetry(g: SimGateway): void {
    const ws = g.ws;
    const load = g.base.load;
    const count = (mean: number) => Math.floor(mean * (0.5 + Math.random()));
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      this.stats.telemetryUnsent++;
      return;
    }
    if (g.pending > 0 && !g.paused) g.pending = Math.max(0, g.pending - count(10));
    const ts = Date.now();
    const msg = {
      type: 'telemetry',
      id: randomUUID(),
      ts,
      configVersion: 'c0ffee000001',
      paths: this.#paths(g),
      queue: { pending: g.pending, dead: g.dead, oldestAgeS: g.pending > 0 ? Math.floor(Math.random() * 600) : 0, bytes: g.pending * 1800 },
      requests: {
        critical: { forwarded: count(40 * load), ...(g.pending > 0 && { buffered: count(5) }) },
        normal: { forwarded: count(120 * load), stale: count(3) },
        bulk: { forwarded: count(15 * load) },
      },
    };
    this.#send(g, ws, msg);
    this.stats.telemetrySent++;
    const second = Math.floor(ts / 1000);
    this.sentPerSecond.set(second, (this.sentPerSecond.get(second) ?? 0) + 1);
  }

  /** Sends telemetry, kept until acked when the hub gives acks. */
  #send(g: SimGateway, ws: WebSocket, msg: SimMessage): void {
    ws.send(JSON.stringify(msg));
    if (g.acks) g.resend.push(...g.unacked.sent(msg));
  }

  #onMessage(g: SimGateway, data: Buffer): void {
    let m: { type?: unknown; id?: unknown; ids?: unknown; command?: unknown; error?: { code?: unknown } };
    try {
      m = JSON.parse(data.toString('utf8')) as typeof m;
    } catch {
      return;
    }
    if (m.type === 'error') {
      bump(this.stats.hubErrors, String(m.error?.code ?? 'unknown'));
      return;
    }
    if (m.type === 'ack' && Array.isArray(m.ids)) {
      g.unacked.acked(m.ids as string[]);
      return;
    }
    if (m.type !== 'command' || typeof m.id !== 'string') return;
    const command = String(m.command);
    const id = m.id;
    // Acted on once per id, as the agent's CommandMemo does: a repeated id gets the first result again.
    let seen = this.commands.get(id);
    if (!seen) this.commands.set(id, (seen = { id, gateway: g.id, command, deliveries: 0, executions: 0, at: Date.now() }));
    seen.deliveries++;
    let result = g.memo.get(id);
    if (result === undefined) {
      seen.executions++;
      result = this.#act(g, command);
      g.memo.set(id, result);
      for (const oldest of g.memo.keys()) {
        if (g.memo.size <= 1000) break;
        g.memo.delete(oldest);
      }
    }
    g.ws?.send(JSON.stringify({ type: 'result', id: randomUUID(), ts: Date.now(), re: id, ok: true, result }));
    bump(this.stats.commandsAnswered, command);
  }

  #act(g: SimGateway, command: string): unknown {
    let result: unknown;
    switch (command) {
      case 'replay.pause':
        g.paused = true;
        result = { paused: true, ratePerSec: 50, pending: g.pending };
        break;
      case 'replay.resume':
        g.paused = false;
        result = { paused: false, ratePerSec: 50, pending: g.pending };
        break;
      case 'status':
        result = {
          store: { id: g.id, region: g.region },
          version: '0.1.0',
          configVersion: 'c0ffee000001',
          uptimeS: Math.floor(process.uptime()),
          paths: this.#paths(g),
          queue: { pending: g.pending, dead: g.dead, oldestAgeS: 0, bytes: g.pending * 1800 },
          replay: { paused: g.paused, ratePerSec: 50 },
        };
        break;
      default:
        result = { command };
    }
    return result;
  }

  sentBetween(from: number, to: number): number {
    // Whole seconds only: the bench asks for windows on second boundaries.
    let n = 0;
    for (const [second, count] of this.sentPerSecond) if (second * 1000 >= from && second * 1000 < to) n += count;
    return n;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#pacer);
    const closing: Promise<void>[] = [];
    for (const g of this.gateways) {
      g.stopTimers();
      const ws = g.ws;
      if (!ws || ws.readyState === WebSocket.CLOSED) continue;
      closing.push(new Promise((resolve) => ws.once('close', () => resolve())));
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'bench done');
      else ws.terminate();
    }
    const deadline = new Promise((resolve) => setTimeout(resolve, 5000).unref());
    await Promise.race([Promise.all(closing), deadline]);
    for (const g of this.gateways) g.ws?.terminate();
  }
}

const fleet = new Fleet();

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : {};
}

function reply(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  void (async () => {
    try {
      if (req.method === 'POST' && url.pathname === '/start') {
        fleet.start((await body(req)) as StartRequest);
        return reply(res, 202, { started: fleet.gateways.length });
      }
      if (req.method === 'GET' && url.pathname === '/stats') {
        const from = url.searchParams.get('from');
        const to = url.searchParams.get('to');
        const stats: WorkerStats = {
          pid: process.pid,
          gateways: fleet.gateways.length,
          open: fleet.open,
          ...fleet.stats,
          ...(from !== null && to !== null && { sentInWindow: fleet.sentBetween(Number(from), Number(to)) }),
        };
        return reply(res, 200, stats);
      }
      if (req.method === 'GET' && url.pathname === '/commands') {
        const since = Number(url.searchParams.get('since') ?? 0);
        return reply(res, 200, [...fleet.commands.values()].filter((c) => c.at >= since));
      }
      if (req.method === 'POST' && url.pathname === '/stop') {
        await fleet.stop();
        return reply(res, 200, { stopped: true });
      }
      reply(res, 404, { error: 'not_found' });
    } catch (e) {
      reply(res, 500, { error: (e as Error).message });
    }
  })();
});

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
exitWithParent(async () => {
  await fleet.stop();
  server.close();
});
process.stdout.write(`${JSON.stringify({ listening: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pid: process.pid })}\n`);
