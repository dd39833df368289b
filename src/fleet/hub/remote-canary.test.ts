import { describe, expect, it } from 'vitest';
import { CanaryWatch } from './rollout.js';
import { remoteObservations, type RemoteReading } from './remote-canary.js';

const V = 'v2';
const up = [{ name: 'fiber', state: 'up' as const, score: 100, rttMs: 3, jitterMs: 1, lossPct: 0 }];
const reading = (over: Partial<RemoteReading> = {}): RemoteReading => ({
  online: true,
  gateway: { configVersion: 'v1', paths: up },
  desired: { version: V, applyStatus: 'sent', applyError: null },
  events: [],
  ...over,
});

/** A watch over one canary told the readings in turn, one turn every 100 ms from t = 0. */
function watch(readings: RemoteReading[], healthyForMs = 250) {
  const w = new CanaryWatch('g-1', V, ['fiber'], 0, healthyForMs, 1000);
  readings.forEach((r, i) => {
    for (const o of remoteObservations(V, r)) w.observe(o, i * 100);
  });
  return w.verdict((readings.length - 1) * 100);
}

describe('a canary held by another replica, read from the database', () => {
  it('is healthy once the holder recorded its answer, it reports the new version and stays up for healthyForMs', () => {
    const applied = reading({ desired: { version: V, applyStatus: 'applied', applyError: null }, gateway: { configVersion: V, paths: up } });
    expect(watch([reading(), applied, applied])).toEqual({ state: 'watching' });
    expect(watch([reading(), applied, applied, applied, applied])).toEqual({ state: 'healthy' });
  });

  it('fails on the refusal the holder recorded, with its reason', () => {
    expect(watch([reading({ desired: { version: V, applyStatus: 'failed', applyError: 'config_invalid: routes[0]' } })])).toEqual({ state: 'failed', reason: 'config.apply failed: config_invalid: routes[0]' });
  });

  it('ignores the apply status of another version (what was desired before this rollout)', () => {
    expect(watch([reading({ desired: { version: 'v0', applyStatus: 'failed', applyError: 'old' } })])).toEqual({ state: 'applying' });
  });

  it('fails on a rollback event, on a path that was up going down, and on being offline longer than healthyForMs', () => {
    const applied = { desired: { version: V, applyStatus: 'applied' as const, applyError: null }, gateway: { configVersion: V, paths: up } };
    expect(watch([reading(applied), reading({ ...applied, events: ['config.rolled_back'] })]).reason).toBe('the gateway rolled the config back');
    expect(watch([reading(applied), reading({ ...applied, gateway: { configVersion: V, paths: [{ ...up[0]!, state: 'down' }] } })]).reason).toBe('path fiber went down');
    expect(watch([reading(applied), reading({ online: false }), reading({ online: false }), reading({ online: false }), reading({ online: false })]).reason).toBe('offline for more than 250 ms');
  });

  it('takes a holder that gave up waiting for the answer as no answer: the reports decide', () => {
    const late = reading({ desired: { version: V, applyStatus: 'sent', applyError: 'no answer within 15000 ms' }, gateway: { configVersion: V, paths: up } });
    expect(watch([late, late, late, late])).toEqual({ state: 'healthy' });
  });
});
