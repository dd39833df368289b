// The soak's memory verdict. A leak is objects nobody frees: they survive a
// full garbage collection. So the verdict compares the JS heap in use right
// after a forced full collection (heap-after-gc.ts) at the start of the
// gateway's last life and after the final drain. Readings sampled from the
// gateway's metrics are no leak signal: they carry whatever garbage the old
// generation holds until its next major collection, and right after a WAN
// outage's backlog is replayed that is tens of MiB (a 3-minute soak once
// failed on a sampled floor of 28 → 54 MiB). RSS is judged against a budget:
// V8 sizes its heap to the allocation rate, and on Node 24 a replay burst grows
// the young generation to 3 × 32 MiB and the old space's headroom with it —
// reserved once, kept, and not a leak.

export interface MemorySample {
  /** Seconds since the soak started. */
  t: number;
  /** Which life of the gateway (0 = the first; each SIGKILL starts another). */
  life: number;
  rssKiB: number;
  /** From the gateway's own metrics (nodejs_heap_size_*), when they could be read. */
  heapUsedKiB?: number;
  heapTotalKiB?: number;
}

/** The heap in use after a full collection, in KiB, at the two ends of the last life; a reading that failed says why. */
export interface CollectedHeap {
  startKiB: number | string;
  endKiB: number | string;
}

export interface MemoryVerdict {
  ok: boolean;
  life: number;
  seconds: number;
  /** Heap in use after a full collection at the start of the life and after the drain, and the limit on the latter. */
  startMiB: number;
  endMiB: number;
  limitMiB: number;
  rssPeakMiB: number;
  heapTotalPeakMiB: number;
  reason: string;
}

/** The collected heap may end at most this much above where it started: caches settling, pools filled. */
export const HEAP_GROWTH_PCT = 20;
export const HEAP_GROWTH_MIB = 8;
/** What a store PC gives the gateway: a bound on RSS however V8 sizes its heap. */
export const RSS_BUDGET_MIB = 384;

const mib = (k: number) => Math.round((k / 1024) * 10) / 10;

/**
 * Judged on the gateway's last life (the soak kills only in its first 40 %,
 * so that life is the long one): the heap in use after a full collection may
 * end at most HEAP_GROWTH_PCT % (+ HEAP_GROWTH_MIB) above where it started,
 * and RSS stays under RSS_BUDGET_MIB throughout. The start reading is taken
 * under load and the end one idle after the drain, so live state that belongs
 * to traffic (requests in flight, a backlog) only makes the check milder; what
 * a 3-minute run catches is ≈ 10 MiB of objects kept, e.g. 2 KiB for each of
 * the ~5,000 requests of the life.
 */
export function memoryVerdict(samples: readonly MemorySample[], collected: CollectedHeap): MemoryVerdict {
  const life = Math.max(0, ...samples.map((s) => s.life));
  const series = samples.filter((s) => s.life === life);
  const verdict = {
    life,
    seconds: series.length ? Math.round(series.at(-1)!.t - series[0]!.t) : 0,
    startMiB: typeof collected.startKiB === 'number' ? mib(collected.startKiB) : 0,
    endMiB: typeof collected.endKiB === 'number' ? mib(collected.endKiB) : 0,
    limitMiB: typeof collected.startKiB === 'number' ? mib(collected.startKiB * (1 + HEAP_GROWTH_PCT / 100) + HEAP_GROWTH_MIB * 1024) : 0,
    rssPeakMiB: mib(Math.max(0, ...series.map((s) => s.rssKiB))),
    heapTotalPeakMiB: mib(Math.max(0, ...series.map((s) => s.heapTotalKiB ?? 0))),
  };
  const fail = (reason: string) => ({ ok: false, ...verdict, reason });
  if (typeof collected.startKiB !== 'number') return fail(`the heap after a full collection could not be read at the start of life ${life}: ${collected.startKiB}`);
  if (typeof collected.endKiB !== 'number') return fail(`the heap after a full collection could not be read after the drain: ${collected.endKiB}`);
  if (verdict.endMiB > verdict.limitMiB) return fail(`the JS heap in use after a full collection grew from ${verdict.startMiB} MiB to ${verdict.endMiB} MiB (limit ${verdict.limitMiB} MiB)`);
  if (series.length === 0) return fail(`no RSS reading of life ${life}`);
  if (verdict.rssPeakMiB > RSS_BUDGET_MIB) return fail(`RSS reached ${verdict.rssPeakMiB} MiB, over the ${RSS_BUDGET_MIB} MiB budget`);
  return { ok: true, ...verdict, reason: 'bounded' };
}

/** The JS heap figures in a Prometheus exposition of prom-client's default metrics (any prefix), in KiB. */
export function heapFromMetrics(text: string): { heapUsedKiB: number; heapTotalKiB: number } | undefined {
  const read = (name: string) => {
    const m = new RegExp(`^\\w*nodejs_${name}_bytes (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) / 1024 : undefined;
  };
  const heapUsedKiB = read('heap_size_used');
  const heapTotalKiB = read('heap_size_total');
  return heapUsedKiB === undefined || heapTotalKiB === undefined ? undefined : { heapUsedKiB, heapTotalKiB };
}
