import { describe, expect, it } from 'vitest';
import { mergeRollups, minuteOf, rollUp, rollupView, type TelemetrySample } from './downsample.js';

const M = 60_000;
const T0 = 1_700_000_040_000; // a minute boundary

function sample(ts: number, fiber: 'unknown' | 'up' | 'degraded' | 'down', rttMs: number | null, pending: number): TelemetrySample {
  return {
    ts,
    configVersion: 'v1',
    paths: [{ name: 'fiber', state: fiber, score: fiber === 'up' ? 100 : 40, rttMs, jitterMs: 2, lossPct: fiber === 'down' ? 100 : 0 }],
    queue: { pending, dead: 0, oldestAgeS: pending },
    requests: { critical: { forwarded: 2 } },
  };
}

describe('telemetry downsampling', () => {
  it('buckets by minute', () => {
    expect(T0 % M).toBe(0);
    expect(minuteOf(T0)).toBe(T0);
    expect(minuteOf(T0 + M - 1)).toBe(T0);
    expect(minuteOf(T0 + M)).toBe(T0 + M);
  });

  it('keeps averages, extremes, the worst state and the last queue of each minute', () => {
    const minutes = rollUp([sample(T0, 'up', 10, 1), sample(T0 + 20_000, 'down', null, 9), sample(T0 + 40_000, 'up', 30, 4), sample(T0 + M, 'up', 5, 0)]);
    expect([...minutes.keys()]).toEqual([T0, T0 + M]);
    const view = rollupView(T0, minutes.get(T0)!);
    expect(view).toMatchObject({
      ts: T0,
      resolution: 'minute',
      samples: 3,
      paths: [{ name: 'fiber', state: 'down', upPct: 66.67, rttMs: 20, rttMaxMs: 30, scoreMin: 40, lossPct: 33.33, lossMaxPct: 100 }],
      queue: { pending: 4, pendingMax: 9, oldestAgeSMax: 9 },
      requests: { critical: { forwarded: 6 } },
    });
  });

  it('calls a minute unknown when a sample had the path unknown and none had it worse', () => {
    const unknownThenUp = rollUp([sample(T0, 'unknown', null, 0), sample(T0 + 20_000, 'up', 10, 0)]).get(T0)!;
    expect(rollupView(T0, unknownThenUp).paths).toMatchObject([{ name: 'fiber', state: 'unknown', upPct: 50 }]);
    const unknownThenDown = rollUp([sample(T0, 'unknown', null, 0), sample(T0 + 20_000, 'down', null, 0)]).get(T0)!;
    expect(rollupView(T0, unknownThenDown).paths).toMatchObject([{ name: 'fiber', state: 'down' }]);
  });

  it('merges two roll-ups of one minute exactly as one', () => {
    const all = [sample(T0, 'up', 10, 1), sample(T0 + 10_000, 'degraded', 50, 3), sample(T0 + 30_000, 'up', 20, 2)];
    const whole = rollUp(all).get(T0)!;
    const split = mergeRollups(rollUp(all.slice(2)).get(T0)!, rollUp(all.slice(0, 2)).get(T0)!);
    expect(rollupView(T0, split)).toEqual(rollupView(T0, whole));
  });

  it('keeps the most unknown outcomes of a minute and the last count, only where gateways report them', () => {
    const withUnknown = (ts: number, unknown: number): TelemetrySample => ({ ...sample(ts, 'up', 10, 0), queue: { pending: 0, dead: 0, unknown, oldestAgeS: 0 } });
    const reported = rollupView(T0, rollUp([withUnknown(T0, 2), withUnknown(T0 + 10_000, 5), withUnknown(T0 + 20_000, 1)]).get(T0)!);
    expect(reported.queue).toMatchObject({ unknown: 1, unknownMax: 5 });
    // A roll-up from before the unknown state merged with a newer one: the newer one's count stands.
    const merged = rollupView(T0, mergeRollups(rollUp([sample(T0, 'up', 10, 1)]).get(T0)!, rollUp([withUnknown(T0 + 30_000, 3)]).get(T0)!));
    expect(merged.queue).toMatchObject({ unknown: 3, unknownMax: 3 });
    const old = rollupView(T0, rollUp([sample(T0, 'up', 10, 1)]).get(T0)!);
    expect(Object.keys(old.queue)).not.toContain('unknown');
    expect(Object.keys(old.queue)).not.toContain('unknownMax');
  });
});
