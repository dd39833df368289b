// The journal's costs, measured against peers in the same run on the same disk:
// durable 202s per second through the gateway at concurrency 1, 16 and 128,
// against the disk's limit (the same inserts batched in one transaction) and a
// naive journal (one commit per request); what journaling at full rate does to
// passthrough latency; how fast a backlog drains; memory with a million entries.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { JournalStore, type NewEntry } from '../../sync/journal-store.js';
import { freePort, listeningLine, spawnNode, type Peer } from './harness.js';
import { maxLoad, pacedLoad, type RequestSpec } from './load.js';
import { startGatewayPeer, type GatewayPeer } from './peers/gateway.js';
import { cpuSeconds, rssMiB } from './proc.js';
import type { BenchSection, SectionReport } from './section.js';
import { num, type Table } from './table.js';

/** A JSON-RPC call of one order's size; `model` and `method` name what Odoo would run. */
const rpcBody = (model: string, method: string) =>
  JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { model, method, args: [[{ amount_total: 12.5, lines: [[0, 0, { product_id: 42, qty: 1 }]] }]] } });
const ORDER: RequestSpec = { method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: rpcBody('pos.order', 'sync_from_ui') };
/**
 * The gateway's own HTTP ceiling for such a POST: a JSON-RPC call of about the same size
 * that it reads, parses and classifies, and answers itself (404, no route: the `live`
 * route takes GETs only), i.e. what a durable 202 costs but the journal, and a JSON parse
 * the 202 on /orders does not make (its key is generated).
 */
const OWN_ANSWER: RequestSpec = { ...ORDER, path: '/web/dataset/call_kw/res.partner/read', body: rpcBody('res.partner', 'read'), okStatus: 404 };
const PASSTHROUGH: RequestSpec = { method: 'GET', path: '/_sim/blob?bytes=1024' };
/** Entries for the memory measure; STOREGW_BENCH_PENDING=100000 makes a quick run. */
const MANY = Number(process.env.STOREGW_BENCH_PENDING ?? 1_000_000);

interface Gateway extends GatewayPeer {
  admin: string;
}

function gatewayConfig(upstream: string, journal: string, adminPort: number, replay: string): string {
  return `version: 1
store: { id: bench-store, region: bench }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: ${adminPort} }
paths:
  - { name: fiber, baseUrl: "${upstream}", maxInFlight: 64 }
routes:
  - name: orders
    match: { method: POST, path: /orders }
    class: critical
    mode: buffer
    idempotencyKey: { generate: true }
    dedupe: key
    timeoutMs: 2000
    orderingKey: none
  - name: pos-sync
    match: { method: POST, jsonrpc: { model: pos.order, method: sync_from_ui } }
    class: critical
    mode: buffer
    idempotencyKey: { generate: true }
    dedupe: key
    timeoutMs: 2000
  - name: live
    match: { method: GET, path: /* }
    class: normal
buffer: { path: "${journal}", maxBytes: 8GiB }
replay: ${replay}
`;
}

async function startGateway(upstream: string, journal: string, replay: string): Promise<Gateway> {
  const adminPort = await freePort();
  const peer = await startGatewayPeer(gatewayConfig(upstream, journal, adminPort, replay), 120_000);
  return { ...peer, admin: `http://127.0.0.1:${adminPort}` };
}

async function adminJson(g: Gateway, method: 'GET' | 'POST', path: string): Promise<unknown> {
  const res = await request(g.admin + path, { method });
  return res.body.json();
}

function entry(i: number, lanes: number): NewEntry {
  return {
    receipt: randomUUID(),
    idemKey: randomUUID(),
    route: 'pos-sync',
    cls: 'critical',
    priority: 0,
    orderingKey: lanes > 0 ? `device:pos-${i % lanes}` : null,
    method: 'POST',
    target: '/web/dataset/call_kw/pos.order/sync_from_ui',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.168.10.20', 'x-store-id': 'bench-store', 'x-request-id': randomUUID() },
    body: Buffer.from(JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { model: 'pos.order', method: 'sync_from_ui', args: [[{ uuid: `bench-${i}`, amount_total: 12.5 }]], kwargs: {} } })),
  };
}

/** Fills a journal file with `n` pending entries, 5,000 per transaction. */
function prefill(file: string, n: number, lanes: number): void {
  const store = JournalStore.open(file, 64 * 2 ** 30);
  for (let i = 0; i < n; i += 5000) store.appendBatch(Array.from({ length: Math.min(5000, n - i) }, (_, k) => entry(i + k, lanes)));
  store.close();
}

/** Entries per second written by `write` for about `seconds`, plus the per-call latencies. */
function storeRate(file: string, seconds: number, write: (s: JournalStore, i: number) => number): { perS: number; p50: number; p99: number } {
  const store = JournalStore.open(file, 64 * 2 ** 30);
  const times: number[] = [];
  let entries = 0;
  const start = performance.now();
  for (let i = 0; performance.now() - start < seconds * 1000; i++) {
    const t0 = performance.now();
    entries += write(store, i);
    times.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - start) / 1000;
  store.close();
  times.sort((a, b) => a - b);
  return { perS: entries / elapsed, p50: times[Math.floor(times.length / 2)]!, p99: times[Math.floor(times.length * 0.99)]! };
}

async function waitDrained(g: Gateway, timeoutS: number): Promise<{ seconds: number; delivered: number }> {
  const start = performance.now();
  let first: number | undefined;
  for (;;) {
    const s = (await adminJson(g, 'GET', '/v1/status')) as { queue: { pending: number; delivered: number } };
    first ??= s.queue.pending;
    if (s.queue.pending === 0 || performance.now() - start > timeoutS * 1000) return { seconds: (performance.now() - start) / 1000, delivered: first - s.queue.pending };
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function run(): Promise<SectionReport> {
  const dir = mkdtempSync(join(tmpdir(), 'storegw-bench-journal-'));
  const peers: Peer[] = [];
  try {
    const sim = await spawnNode('erp simulator', 'test/bench/peers/erp-sim.js', [], { readyLine: listeningLine });
    peers.push(sim);
    // The ERP is down for /orders (a quick 503): every order is journaled and answered 202.
    await request(`${sim.url}/_sim/control`, { method: 'POST', body: JSON.stringify({ mode: 'fail', status: 503, pathPrefix: '/orders' }) }).then((r) => r.body.dump());

    // 1. Durable 202/s through the gateway, with replay paused so only the write path is measured.
    const gw = await startGateway(sim.url, join(dir, 'live.db'), '{ ratePerSec: 50, concurrency: 4 }');
    peers.push(gw);
    await adminJson(gw, 'POST', '/v1/replay/pause');
    const gwCpu = () => cpuSeconds(gw.pid);
    const durable: { c: number; rps: number; p99: number; failed: number; cpuUsPer202: number }[] = [];
    for (const c of [1, 16, 128]) {
      const r = await maxLoad(gw.url, ORDER, { connections: c, durationS: 5, warmupS: 0 }, gwCpu);
      durable.push({ c, rps: r.rps, p99: r.p99, failed: r.failed, cpuUsPer202: (r.cpuSPerResponse ?? Number.NaN) * 1e6 });
    }
    const ownRun = await maxLoad(gw.url, OWN_ANSWER, { connections: 128, durationS: 5, warmupS: 0 }, gwCpu);
    const own = { rps: ownRun.rps, p99: ownRun.p99, failed: ownRun.failed, cpuUsEach: (ownRun.cpuSPerResponse ?? Number.NaN) * 1e6 };

    // 2. Passthrough latency: idle, then while the journal is written at full rate.
    const paced = { connections: 32, durationS: 6, warmupS: 1 };
    const idle = await pacedLoad(gw.url, PASSTHROUGH, 300, paced);
    // Journaling at a steady 1,000 orders/s: any stall of the event loop by a commit shows in the passthrough p99.
    const [steady] = await Promise.all([pacedLoad(gw.url, PASSTHROUGH, 300, paced), pacedLoad(gw.url, ORDER, 1000, { connections: 64, durationS: 7, warmupS: 0 })]);
    // Journaling flat out: the flood also takes the event loop's CPU, on a machine of 2 cores that also runs the load generator.
    const [busy, flood] = await Promise.all([pacedLoad(gw.url, PASSTHROUGH, 300, paced), maxLoad(gw.url, ORDER, { connections: 128, durationS: 7, warmupS: 0 })]);
    await gw.stop();

    // 3. The same disk without the gateway: the limit, and a naive journal.
    const batched = storeRate(join(dir, 'limit.db'), 3, (s, i) => s.appendBatch(Array.from({ length: 1000 }, (_, k) => entry(i * 1000 + k, 0))).length);
    const naive = storeRate(join(dir, 'naive.db'), 3, (s, i) => s.appendBatch([entry(i, 0)]).length);

    // 4. Drain: a 100k backlog, unlimited rate, against the ERP's own capacity; and a rate-limited drain.
    await request(`${sim.url}/_sim/control`, { method: 'POST', body: JSON.stringify({ mode: 'ok' }) }).then((r) => r.body.dump());
    const posDirect: RequestSpec = { ...ORDER, path: '/web/dataset/call_kw/pos.order/sync_from_ui' };
    const upstream = await maxLoad(sim.url, posDirect, { connections: 32, durationS: 4, warmupS: 1 });
    const drain = async (name: string, entries: number, lanes: number, replay: string) => {
      const file = join(dir, `${name}.db`);
      prefill(file, entries, lanes);
      const g = await startGateway(sim.url, file, replay);
      peers.push(g);
      const drained = await waitDrained(g, 180);
      await g.stop();
      return drained;
    };
    const unlimited = await drain('lanes', 100_000, 20, '{ ratePerSec: 100000, concurrency: 32 }');
    const free = await drain('unordered', 100_000, 0, '{ ratePerSec: 100000, concurrency: 32 }');
    const limited = await drain('limited', 6000, 20, '{ ratePerSec: 1000, concurrency: 32 }');

    // 5. Memory with a million pending entries (ERP down, replay running and retrying).
    const million = join(dir, 'million.db');
    const fillStart = performance.now();
    prefill(million, MANY, 200);
    const fillS = (performance.now() - fillStart) / 1000;
    const startAt = performance.now();
    const bigGw = await startGateway('http://127.0.0.1:9', million, '{ ratePerSec: 50, concurrency: 4 }');
    peers.push(bigGw);
    const startS = (performance.now() - startAt) / 1000;
    await new Promise((r) => setTimeout(r, 5000));
    const statusStart = performance.now();
    const status = (await adminJson(bigGw, 'GET', '/v1/status')) as { queue: { pending: number } };
    const statusMs = performance.now() - statusStart;
    await (await request(`${bigGw.admin}/metrics`)).body.dump();
    const rss = rssMiB(bigGw.pid);
    await bigGw.stop();

    const best = Math.max(...durable.map((d) => d.rps));
    const c128 = durable.find((d) => d.c === 128)!;
    const tables: Table[] = [
      {
        title: 'Durable 202s (each acknowledged only after its commit is fsynced)',
        columns: ['writer', 'entries/s', 'p99 ms', 'vs limit', 'vs naive', 'vs own ceiling', 'gateway CPU µs each'],
        rows: [
          ...durable.map((d) => [`gateway, concurrency ${d.c}`, num(d.rps), num(d.p99, 1), `${num(d.rps / batched.perS, 2)}×`, `${num(d.rps / naive.perS, 1)}×`, `${num(d.rps / own.rps, 2)}×`, num(d.cpuUsPer202)]),
          ['own ceiling: the gateway answers a like POST itself (404), concurrency 128', num(own.rps), num(own.p99, 1), `${num(own.rps / batched.perS, 2)}×`, '-', '1.00×', num(own.cpuUsEach)],
          ['limit: 1000 inserts per transaction, in-process', num(batched.perS), num(batched.p99, 1), '1.00×', `${num(batched.perS / naive.perS, 1)}×`, '-', '-'],
          ['naive: one commit per entry, in-process', num(naive.perS), num(naive.p99, 2), `${num(naive.perS / batched.perS, 3)}×`, '1.0×', '-', '-'],
        ],
        notes: [
          `One naive commit (fsync) takes ${num(naive.p50, 2)} ms (p99 ${num(naive.p99, 2)} ms): that is how long the event loop would stop per commit if the journal ran on it; it runs on a worker thread.`,
          'own ceiling: a JSON-RPC POST of about the same size that the gateway reads, parses, classifies and answers itself (no route: 404): what a durable 202 costs but the journal, and a JSON parse the 202 does not make.',
          `${durable.reduce((n, d) => n + d.failed, 0)} non-202 answers in all runs (${own.failed} not 404 for the own ceiling). The load generator, the ERP simulator and the gateway share the machine's cores;`,
          `gateway CPU per durable 202 (main thread + journal worker) is the figure that does not depend on that sharing.`,
        ],
      },
      {
        title: 'Passthrough GET (1 KiB) at 300 req/s: p99 while journaling at full rate vs idle',
        columns: ['condition', 'p50 ms', 'p99 ms', 'ratio'],
        rows: [
          ['idle', num(idle.p50, 2), num(idle.p99, 2), '1.00×'],
          ['journaling 1,000 orders/s alongside', num(steady.p50, 2), num(steady.p99, 2), `${num(steady.p99 / idle.p99, 2)}×`],
          [`journaling ${num(flood.rps)} orders/s alongside`, num(busy.p50, 2), num(busy.p99, 2), `${num(busy.p99 / idle.p99, 2)}×`],
        ],
      },
      {
        title: 'Drain of a journaled backlog',
        columns: ['case', 'entries', 'seconds', 'entries/s', 'bound'],
        rows: [
          ['unordered (orderingKey none), unlimited rate, concurrency 32', num(free.delivered), num(free.seconds, 1), num(free.delivered / free.seconds), `ERP direct at 32 connections: ${num(upstream.rps)}/s`],
          ['20 devices in order, unlimited rate, concurrency 32', num(unlimited.delivered), num(unlimited.seconds, 1), num(unlimited.delivered / unlimited.seconds), `ERP direct at 32 connections: ${num(upstream.rps)}/s`],
          ['ratePerSec 1000', num(limited.delivered), num(limited.seconds, 1), num(limited.delivered / limited.seconds), 'configured: 1,000/s'],
        ],
      },
      {
        title: `${num(MANY)} pending entries`,
        columns: ['measure', 'value'],
        rows: [
          ['prefill (5,000 per transaction)', `${num(fillS, 1)} s`],
          ['gateway start (integrity check included)', `${num(startS, 1)} s`],
          ['pending reported', num(status.queue.pending)],
          ['/v1/status answer', `${num(statusMs, 1)} ms`],
          ['gateway RSS', `${num(rss, 0)} MiB`],
        ],
      },
    ];
    const summary = [
      `goal ≥ 10,000 durable 202/s at concurrency 128: ${num(c128.rps)} — ${c128.rps >= 10_000 ? 'met' : 'NOT met'} (best ${num(best)}/s; ${num(c128.cpuUsPer202)} µs of gateway CPU each, i.e. ${num(1e6 / c128.cpuUsPer202)}/s per core of its own)`,
      `goal durable 202s ≥ 0.5× the gateway's own HTTP ceiling at concurrency 128: ${num(c128.rps)} vs ${num(own.rps)}/s, ${num(c128.rps / own.rps, 2)}× — ${c128.rps >= 0.5 * own.rps ? 'met' : 'NOT met'} (${num(c128.rps / batched.perS, 2)}× SQLite's in-process limit)`,
      `goal passthrough p99 ≤ 1.5× idle while journaling: at 1,000 orders/s ${num(steady.p99 / idle.p99, 2)}× — ${steady.p99 <= 1.5 * idle.p99 ? 'met' : 'NOT met'}; flat out ${num(busy.p99 / idle.p99, 2)}× — ${busy.p99 <= 1.5 * idle.p99 ? 'met' : 'NOT met'}`,
      `goal drain limited only by rate and upstream: unordered ${num(free.delivered / free.seconds)}/s vs ERP ${num(upstream.rps)}/s (${num(free.delivered / free.seconds / upstream.rps, 2)}×); 20 ordered lanes ${num(unlimited.delivered / unlimited.seconds)}/s; limited ${num(limited.delivered / limited.seconds)}/s vs 1,000/s`,
      `goal RSS ≤ 150 MB with 1M pending: ${num(rss * 1.048576, 0)} MB with ${num(MANY)} — ${MANY < 1_000_000 ? 'not measured at 1M' : rss * 1.048576 <= 150 ? 'met' : 'NOT met'}`,
    ];
    return { tables, summary, json: { durable, own, batched, naive, idle, steady, busy, flood, upstream, unlimited, free, limited, fillS, startS, statusMs, rssMiB: rss } };
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

export const journalBench: BenchSection = {
  name: 'journal',
  description: 'durable 202s, passthrough latency while journaling, drain rate, memory with 1M pending',
  run,
};
