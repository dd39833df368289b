// Load generation, in the bench process. Two kinds:
// - maxLoad: closed loop with autocannon, for the highest request rate a target sustains.
// - pacedLoad: open loop at a fixed rate, for latency below saturation.
// autocannon's own rate limit (overallRate) is not used for the second: it
// lets each connection send its whole per-second quota back to back at the
// start of every second and then idle, so "50% load" would really be full load
// for half of each second.
// Latencies are kept as raw float milliseconds (autocannon's histogram rounds
// to whole milliseconds, too coarse for a sub-millisecond goal).
import autocannon from 'autocannon';
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { distFile } from './harness.js';
import { RawHttpPool } from './raw-http.js';

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** The status a successful answer has, for a request the server answers itself with a refusal; any 2xx unless said. */
  okStatus?: number;
}

function succeeded(spec: RequestSpec, status: number): boolean {
  return spec.okStatus === undefined ? status >= 200 && status < 300 : status === spec.okStatus;
}

export interface LoadResult {
  /** Successful responses (2xx, or the spec's okStatus) per second. */
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  /** Non-2xx answers, connection errors and timeouts. */
  failed: number;
  /** Mean size of a successful response: with its head for maxLoad (autocannon counts so), the body only for pacedLoad. */
  bytesPerResponse: number;
  durationS: number;
  /** CPU seconds the server used per successful response in the measured window, when a CPU clock was given. */
  cpuSPerResponse?: number;
}

export interface LoadOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  /** How long a request may take before the client gives up on it (autocannon's timeout): 10 s unless said. */
  timeoutS?: number;
}

class Samples {
  private readonly ms: number[] = [];
  private bytes = 0;
  failed = 0;
  ok(ms: number, bytes: number): void {
    this.ms.push(ms);
    this.bytes += bytes;
  }
  result(durationS: number): LoadResult {
    const sorted = Float64Array.from(this.ms).sort();
    const at = (q: number) => percentileOfSorted(sorted, q);
    const ok = sorted.length;
    return { rps: ok / durationS, p50: at(0.5), p99: at(0.99), ok, failed: this.failed, bytesPerResponse: ok ? this.bytes / ok : 0, durationS };
  }
}

function runCannon(base: string, spec: RequestSpec, connections: number, durationS: number, timeoutS: number, samples?: Samples): Promise<number> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: base + spec.path,
        method: spec.method,
        headers: spec.headers ?? {},
        ...(spec.body !== undefined && { body: spec.body }),
        connections,
        pipelining: 1,
        duration: durationS,
        timeout: timeoutS,
      },
      (err, result) => (err ? reject(err) : resolve(result.duration)),
    );
    if (!samples) return;
    instance.on('response', (_client, status, bytes, ms) => {
      if (succeeded(spec, status)) samples.ok(ms, bytes);
      else samples.failed++;
    });
    instance.on('reqError', () => samples.failed++);
  });
}

/**
 * The highest rate: `connections` clients, each sending its next request as
 * soon as the last is answered. `cpuClock`: the server's CPU seconds so far
 * (proc.ts), read around the measured window.
 */
export async function maxLoad(base: string, spec: RequestSpec, o: LoadOptions, cpuClock?: () => number): Promise<LoadResult> {
  const timeoutS = o.timeoutS ?? 10;
  if (o.warmupS > 0) await runCannon(base, spec, o.connections, o.warmupS, timeoutS);
  const samples = new Samples();
  const cpu0 = cpuClock?.();
  const durationS = await runCannon(base, spec, o.connections, o.durationS, timeoutS, samples);
  const result = samples.result(durationS);
  if (cpuClock && cpu0 !== undefined && result.ok > 0) result.cpuSPerResponse = (cpuClock() - cpu0) / result.ok;
  return result;
}

export interface LoadJob {
  url: string;
  spec: RequestSpec;
  options: LoadOptions;
  /** The server's process, whose CPU (proc.ts, with its children) is read around the measured window. */
  pid: number;
}

/**
 * maxLoad in a child process of its own (load-process.ts), for two servers
 * loaded at the same moment: two loads in the bench's one process did not
 * load them alike (a gateway beside a second process of itself read 0.77× its
 * CPU per 64 KB answer, rounds 0.62–1.00; with a process per load, 0.97×).
 */
export function maxLoadInProcess(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [distFile('test/bench/load-process.js'), JSON.stringify(job)], (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as LoadResult)));
  });
}

/**
 * Requests started at `rate` per second, evenly spread, whether or not earlier
 * ones were answered. A request's latency runs from the moment it was handed
 * to the connection pool (waiting for a free connection included) to the last
 * byte of its body.
 */
export async function pacedLoad(base: string, spec: RequestSpec, rate: number, o: LoadOptions): Promise<LoadResult> {
  const pool = new RawHttpPool(base, spec, o.connections);
  try {
    if (o.warmupS > 0) await paced(pool, spec, rate, o.warmupS, new Samples());
    const samples = new Samples();
    const durationS = await paced(pool, spec, rate, o.durationS, samples);
    return samples.result(durationS);
  } finally {
    pool.close();
  }
}

async function paced(pool: RawHttpPool, spec: RequestSpec, rate: number, durationS: number, samples: Samples): Promise<number> {
  const inFlight = new Set<Promise<void>>();
  const send = () => {
    const t0 = performance.now();
    const p = pool
      .send()
      .then((a) => {
        if (succeeded(spec, a.status)) samples.ok(performance.now() - t0, a.bytes);
        else samples.failed++;
      })
      .catch(() => {
        samples.failed++;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const start = performance.now();
  const endMs = durationS * 1000;
  let sent = 0;
  await new Promise<void>((resolve) => {
    // A 1 ms tick sends whatever has come due; the requests of one tick go out
    // together, a burst of rate/1000.
    const tick = setInterval(() => {
      const elapsed = Math.min(performance.now() - start, endMs);
      const due = Math.floor((elapsed * rate) / 1000);
      while (sent < due) {
        send();
        sent++;
      }
      if (elapsed >= endMs) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await Promise.all(inFlight);
  return durationS;
}

/** The value at quantile `q` (0..1) of values sorted ascending; NaN for none. */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
