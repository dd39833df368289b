// The soak's memory verdict. A leak shows as memory in use that keeps rising:
// JavaScript objects nobody frees raise the floor of the JS heap's sawtooth
// (its lowest reading between collections). The process's RSS is a poor leak
// signal on its own: V8 sizes its heap to the allocation rate, and on Node 24 a
// replay burst (the backlog of a WAN outage sent at once) grows the young
// generation to 3 × 32 MiB and the old space's headroom with it — reserved
// once, kept, and not a leak (measured: the heap in use stayed at 35–80 MiB
// while the heap V8 held went from 67 to 168 MiB). So the verdict judges the
// floor of the heap in use for growth, and the RSS against a budget.

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

export interface MemoryVerdict {
  ok: boolean;
  life: number;
  seconds: number;
  firstThirdFloorMiB: number;
  lastThirdFloorMiB: number;
  floorLimitMiB: number;
  rssPeakMiB: number;
  heapTotalPeakMiB: number;
  reason: string;
}

/** The heap's floor may end at most this much above the first third's: caches settling. */
export const HEAP_FLOOR_GROWTH_PCT = 20;
export const HEAP_FLOOR_GROWTH_MIB = 8;
/** What a store PC gives the gateway: a bound on RSS however V8 sizes its heap. */
export const RSS_BUDGET_MIB = 384;

const mib = (k: number) => Math.round((k / 1024) * 10) / 10;

/**
 * Judged on the longest life of the gateway (kills start a new process; the
 * soak keeps its last 60 % free of kills so that life is long): the lowest
 * heap-in-use reading of its last third may exceed that of its first third by
 * at most HEAP_FLOOR_GROWTH_PCT % (+ HEAP_FLOOR_GROWTH_MIB), and its RSS stays
 * under RSS_BUDGET_MIB throughout. Sampled every 2 s, a third holds a dozen
 * readings or more, so its lowest is taken after a collection. A 3-minute run
 * catches a leak of ≈ 12 MiB/min and up; longer runs smaller ones.
 */
export function memoryVerdict(samples: readonly MemorySample[]): MemoryVerdict {
  const lives = new Map<number, MemorySample[]>();
  for (const s of samples) lives.set(s.life, [...(lives.get(s.life) ?? []), s]);
  const [life, series] = [...lives.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? [0, []];
  const heap = series.filter((s) => s.heapUsedKiB !== undefined);
  const none = { life, seconds: 0, firstThirdFloorMiB: 0, lastThirdFloorMiB: 0, floorLimitMiB: 0, rssPeakMiB: 0, heapTotalPeakMiB: 0 };
  if (heap.length < 9) return { ok: false, ...none, reason: `too few readings of the gateway's heap to judge (${heap.length})` };
  const third = Math.floor(heap.length / 3);
  const floor = (xs: readonly MemorySample[]) => Math.min(...xs.map((s) => s.heapUsedKiB!));
  const first = floor(heap.slice(0, third));
  const last = floor(heap.slice(-third));
  const limit = first * (1 + HEAP_FLOOR_GROWTH_PCT / 100) + HEAP_FLOOR_GROWTH_MIB * 1024;
  const rssPeak = Math.max(...series.map((s) => s.rssKiB));
  const verdict = {
    life,
    seconds: Math.round(series.at(-1)!.t - series[0]!.t),
    firstThirdFloorMiB: mib(first),
    lastThirdFloorMiB: mib(last),
    floorLimitMiB: mib(limit),
    rssPeakMiB: mib(rssPeak),
    heapTotalPeakMiB: mib(Math.max(...heap.map((s) => s.heapTotalKiB ?? 0))),
  };
  if (last > limit) return { ok: false, ...verdict, reason: `the JS heap in use grew from a floor of ${mib(first)} MiB to ${mib(last)} MiB (limit ${mib(limit)} MiB)` };
  if (rssPeak > RSS_BUDGET_MIB * 1024) return { ok: false, ...verdict, reason: `RSS reached ${mib(rssPeak)} MiB, over the ${RSS_BUDGET_MIB} MiB budget` };
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
