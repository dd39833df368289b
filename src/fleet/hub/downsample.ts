// Telemetry downsampling: raw messages older than the raw window become one
// roll-up per gateway and minute. A roll-up keeps sums, counts and extremes,
// not averages, so two roll-ups of the same minute (a late spooled message, a
// housekeeping pass cut mid-minute) merge exactly. Pure.
import type { PathTelemetry, TelemetryMessage } from '../protocol.js';

export const MINUTE_MS = 60_000;

export const minuteOf = (ts: number): number => ts - (ts % MINUTE_MS);

/** A telemetry message as the hub keeps it. */
export type TelemetrySample = Pick<TelemetryMessage, 'ts' | 'configVersion' | 'paths' | 'queue' | 'requests'> & { spooled?: boolean; rolledUp?: number };

interface PathRollup {
  n: number;
  up: number;
  degraded: number;
  down: number;
  scoreSum: number;
  scoreMin: number;
  rttSum: number;
  rttN: number;
  rttMax: number;
  jitterSum: number;
  lossSum: number;
  lossMax: number;
}

export interface Rollup {
  samples: number;
  paths: Record<string, PathRollup>;
  /** unknownMax and last.unknown only where a sample reported unknown outcomes (gateways before that state do not, nor roll-ups written before it). */
  queue: { pendingMax: number; deadMax: number; unknownMax?: number; oldestAgeSMax: number; last: { ts: number; pending: number; dead: number; unknown?: number; oldestAgeS: number } };
  requests: Record<string, Record<string, number>>;
  configVersions: string[];
}

function pathRollup(p: PathTelemetry): PathRollup {
  return {
    n: 1,
    up: p.state === 'up' ? 1 : 0,
    degraded: p.state === 'degraded' ? 1 : 0,
    down: p.state === 'down' ? 1 : 0,
    scoreSum: p.score,
    scoreMin: p.score,
    rttSum: p.rttMs ?? 0,
    rttN: p.rttMs === null ? 0 : 1,
    rttMax: p.rttMs ?? 0,
    jitterSum: p.jitterMs,
    lossSum: p.lossPct,
    lossMax: p.lossPct,
  };
}

function mergePath(a: PathRollup, b: PathRollup): PathRollup {
  return {
    n: a.n + b.n,
    up: a.up + b.up,
    degraded: a.degraded + b.degraded,
    down: a.down + b.down,
    scoreSum: a.scoreSum + b.scoreSum,
    scoreMin: Math.min(a.scoreMin, b.scoreMin),
    rttSum: a.rttSum + b.rttSum,
    rttN: a.rttN + b.rttN,
    rttMax: Math.max(a.rttMax, b.rttMax),
    jitterSum: a.jitterSum + b.jitterSum,
    lossSum: a.lossSum + b.lossSum,
    lossMax: Math.max(a.lossMax, b.lossMax),
  };
}

export function sampleRollup(s: TelemetrySample): Rollup {
  const unknown = s.queue.unknown;
  return {
    samples: 1,
    paths: Object.fromEntries(s.paths.map((p) => [p.name, pathRollup(p)])),
    queue: {
      pendingMax: s.queue.pending,
      deadMax: s.queue.dead,
      ...(unknown !== undefined && { unknownMax: unknown }),
      oldestAgeSMax: s.queue.oldestAgeS,
      last: { ts: s.ts, pending: s.queue.pending, dead: s.queue.dead, ...(unknown !== undefined && { unknown }), oldestAgeS: s.queue.oldestAgeS },
    },
    requests: structuredClone(s.requests),
    configVersions: [s.configVersion],
  };
}

export function mergeRollups(a: Rollup, b: Rollup): Rollup {
  const paths = { ...a.paths };
  for (const [name, p] of Object.entries(b.paths)) paths[name] = paths[name] ? mergePath(paths[name], p) : p;
  const requests = structuredClone(a.requests);
  for (const [cls, outcomes] of Object.entries(b.requests)) {
    const into = (requests[cls] ??= {});
    for (const [outcome, n] of Object.entries(outcomes)) into[outcome] = (into[outcome] ?? 0) + n;
  }
  return {
    samples: a.samples + b.samples,
    paths,
    queue: {
      pendingMax: Math.max(a.queue.pendingMax, b.queue.pendingMax),
      deadMax: Math.max(a.queue.deadMax, b.queue.deadMax),
      ...((a.queue.unknownMax !== undefined || b.queue.unknownMax !== undefined) && { unknownMax: Math.max(a.queue.unknownMax ?? 0, b.queue.unknownMax ?? 0) }),
      oldestAgeSMax: Math.max(a.queue.oldestAgeSMax, b.queue.oldestAgeSMax),
      last: b.queue.last.ts >= a.queue.last.ts ? b.queue.last : a.queue.last,
    },
    requests,
    configVersions: [...new Set([...a.configVersions, ...b.configVersions])],
  };
}

const round = (v: number) => Math.round(v * 100) / 100;

/** What the API shows for a minute: averages and extremes per path, the queue at its worst and at the end. */
export function rollupView(minute: number, r: Rollup) {
  return {
    ts: minute,
    resolution: 'minute' as const,
    samples: r.samples,
    configVersions: r.configVersions,
    paths: Object.entries(r.paths).map(([name, p]) => ({
      name,
      // The worst state seen in the minute: an outage of 10 s is not averaged away.
      // Samples in none of the three were unknown (the gateway had not judged the path).
      state: p.down > 0 ? 'down' : p.degraded > 0 ? 'degraded' : p.up < p.n ? 'unknown' : 'up',
      upPct: round((p.up / p.n) * 100),
      score: round(p.scoreSum / p.n),
      scoreMin: p.scoreMin,
      rttMs: p.rttN === 0 ? null : round(p.rttSum / p.rttN),
      rttMaxMs: p.rttN === 0 ? null : p.rttMax,
      jitterMs: round(p.jitterSum / p.n),
      lossPct: round(p.lossSum / p.n),
      lossMaxPct: p.lossMax,
    })),
    queue: {
      pending: r.queue.last.pending,
      dead: r.queue.last.dead,
      ...(r.queue.last.unknown !== undefined && { unknown: r.queue.last.unknown }),
      oldestAgeS: r.queue.last.oldestAgeS,
      pendingMax: r.queue.pendingMax,
      deadMax: r.queue.deadMax,
      ...(r.queue.unknownMax !== undefined && { unknownMax: r.queue.unknownMax }),
      oldestAgeSMax: r.queue.oldestAgeSMax,
    },
    requests: r.requests,
  };
}

export type RollupView = ReturnType<typeof rollupView>;

/** Groups samples of one gateway by minute, merged into roll-ups. */
export function rollUp(samples: TelemetrySample[]): Map<number, Rollup> {
  const out = new Map<number, Rollup>();
  for (const s of samples) {
    const m = minuteOf(s.ts);
    const prev = out.get(m);
    out.set(m, prev ? mergeRollups(prev, sampleRollup(s)) : sampleRollup(s));
  }
  return out;
}
