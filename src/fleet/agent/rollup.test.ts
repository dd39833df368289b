import { describe, expect, it } from 'vitest';
import type { TelemetryMessage } from '../protocol.js';
import { rollUp, rollupId } from './rollup.js';

function sample(ts: number, over: Partial<TelemetryMessage> = {}): TelemetryMessage {
  return {
    type: 'telemetry',
    id: `t-${ts}`,
    ts,
    configVersion: 'v1',
    paths: [{ name: 'fiber', state: 'up', score: 99, rttMs: 10, jitterMs: 1, lossPct: 0 }],
    queue: { pending: 1, dead: 0, oldestAgeS: 5, bytes: 100 },
    requests: { critical: { forwarded: 2 } },
    ...over,
  };
}

describe('telemetry roll-up', () => {
  it('ranks unknown worse than up and better than degraded: a merged message does not vouch for a span the gateway had not judged', () => {
    const path = (state: TelemetryMessage['paths'][number]['state']) => ({ paths: [{ name: 'fiber', state, score: 99, rttMs: 10, jitterMs: 1, lossPct: 0 }] });
    expect(rollUp([sample(1000, path('unknown')), sample(2000, path('up'))]).paths[0]!.state).toBe('unknown');
    expect(rollUp([sample(1000, path('unknown')), sample(2000, path('degraded'))]).paths[0]!.state).toBe('degraded');
  });

  it('keeps the worst path state, the largest loss and queue, the summed requests, and the first timestamp', () => {
    const merged = rollUp([
      sample(1000),
      sample(2000, {
        paths: [
          { name: 'fiber', state: 'down', score: 0, rttMs: null, jitterMs: 4, lossPct: 100 },
          { name: 'lte', state: 'degraded', score: 60, rttMs: 80, jitterMs: 9, lossPct: 3, rxBps: 500 },
        ],
        queue: { pending: 40, dead: 1, oldestAgeS: 30, bytes: 9000 },
        requests: { critical: { buffered: 5 }, normal: { unavailable: 3 } },
      }),
      sample(3000, { configVersion: 'v2', queue: { pending: 2, dead: 0, oldestAgeS: 1, bytes: 200 }, requests: { critical: { forwarded: 1 } } }),
    ]);
    expect(merged).toEqual({
      type: 'telemetry',
      id: 'r3-t-1000',
      ts: 1000,
      configVersion: 'v2',
      paths: [
        { name: 'fiber', state: 'down', score: 0, rttMs: 10, jitterMs: 4, lossPct: 100 },
        { name: 'lte', state: 'degraded', score: 60, rttMs: 80, jitterMs: 9, lossPct: 3, rxBps: 500 },
      ],
      queue: { pending: 40, dead: 1, oldestAgeS: 30, bytes: 9000 },
      requests: { critical: { forwarded: 3, buffered: 5 }, normal: { unavailable: 3 } },
      rolledUp: 3,
    });
  });

  it('keeps the most unknown outcomes seen, and none for gateways that do not report them', () => {
    const q = (unknown?: number) => ({ pending: 0, dead: 0, oldestAgeS: 0, ...(unknown !== undefined && { unknown }) });
    expect(rollUp([sample(1, { queue: q() }), sample(2, { queue: q(3) }), sample(3, { queue: q(1) })]).queue.unknown).toBe(3);
    expect(rollUp([sample(1, { queue: q() }), sample(2, { queue: q() })]).queue).not.toHaveProperty('unknown');
  });

  it('keeps the last max age and the highest expiry warning, none when no sample had one', () => {
    const q = (maxAgeS: number, expiryWarning: number | null) => ({ pending: 1, dead: 0, oldestAgeS: 0, maxAgeS, expiryWarning });
    expect(rollUp([sample(1, { queue: q(3600, null) }), sample(2, { queue: q(3600, 0.9) }), sample(3, { queue: q(7200, 0.5) })]).queue).toMatchObject({ maxAgeS: 7200, expiryWarning: 0.9 });
    expect(rollUp([sample(1, { queue: q(3600, null) }), sample(2, { queue: q(3600, null) })]).queue).toMatchObject({ expiryWarning: null });
    expect(rollUp([sample(1), sample(2)]).queue).not.toHaveProperty('expiryWarning');
  });

    it('counts the samples inside earlier roll-ups', () => {
    expect(rollUp([sample(1, { rolledUp: 10 }), sample(2, { rolledUp: 10 }), sample(3)]).rolledUp).toBe(21);
  });

  it('gives a roll-up an id of its own, never its first sample\'s (which a hub may have stored), the same for the same roll-up', () => {
    const uuid = '0b6f3c1e-8a2d-4c55-9a7e-3f1d2c4b5a69';
    expect(rollupId(uuid, 10)).toBe(`r10-${uuid}`);
    expect(rollupId(`r10-${uuid}`, 100)).toBe(`r100-${uuid}`);
    expect(rollupId('x'.repeat(64), 1000)).toHaveLength(64);
    expect(rollUp([sample(1), sample(2)]).id).toBe(rollUp([sample(1), sample(2)]).id);
  });

  it('leaves a single message as it is', () => {
    const one = sample(5);
    expect(rollUp([one])).toBe(one);
  });
});
