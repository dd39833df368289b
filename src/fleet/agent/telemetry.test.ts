import { describe, expect, it } from 'vitest';
import { pathTelemetry, queueTelemetry, QuotaWatch, RequestDeltas } from './telemetry.js';

const count = (cls: string, outcome: string, value: number, route = 'r') => ({ labels: { route, class: cls, outcome }, value });

describe('telemetry', () => {
  it('reports requests per class and outcome since the previous sample, summed over routes', () => {
    const deltas = new RequestDeltas();
    deltas.mark([count('critical', 'forwarded', 5)]);
    expect(deltas.take([count('critical', 'forwarded', 8), count('critical', 'forwarded', 2, 'other'), count('bulk', 'unavailable', 1)])).toEqual({
      critical: { forwarded: 5 },
      bulk: { unavailable: 1 },
    });
    expect(deltas.take([count('critical', 'forwarded', 8), count('critical', 'forwarded', 2, 'other'), count('bulk', 'unavailable', 1)])).toEqual({});
    // A counter that went backwards was reset: everything in it is new.
    expect(deltas.take([count('critical', 'forwarded', 3)])).toEqual({ critical: { forwarded: 3 } });
  });

  it('reports quota pressure once per crossing of 80%, again only after relief', () => {
    const q = new QuotaWatch();
    const seen = [10, 79, 80, 95, 79, 81, 60, 85].map((pct) => q.crossed(pct, 100));
    expect(seen).toEqual([false, false, true, false, false, false, false, true]);
  });

  it('reports the unknown entries, the max age and the expiry warning with the queue, not the quota', () => {
    expect(queueTelemetry({ pending: 4, dead: 1, unknown: 2, oldestAgeS: 30, bytes: 900, maxBytes: 10_000, maxAgeS: 3600, expiryWarning: null })).toEqual({
      pending: 4,
      dead: 1,
      unknown: 2,
      oldestAgeS: 30,
      bytes: 900,
      maxAgeS: 3600,
      expiryWarning: null,
    });
    expect(queueTelemetry({ pending: 4, dead: 1, unknown: 2, oldestAgeS: 1900, bytes: 900, maxBytes: 10_000, maxAgeS: 3600, expiryWarning: 0.5 }).expiryWarning).toBe(0.5);
  });

    it('sends only the fields the protocol knows', () => {
    expect(pathTelemetry({ name: 'fiber', state: 'up', score: 90, rttMs: 5, jitterMs: 1, lossPct: 0, monitored: true, wireguardError: 'x' } as never)).toEqual({
      name: 'fiber',
      state: 'up',
      score: 90,
      rttMs: 5,
      jitterMs: 1,
      lossPct: 0,
    });
  });
});
