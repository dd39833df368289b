import { describe, expect, it } from 'vitest';
import { CanaryWatch, planRollout } from './rollout.js';

const targets = [
  { id: 's3', online: true },
  { id: 's1', online: false },
  { id: 's2', online: true },
  { id: 's4', online: true },
];

describe('rollout plan', () => {
  it('takes named canaries, or the first connected ones by id', () => {
    expect(planRollout(targets, { ids: ['s4'] })).toEqual({ ok: true, canaries: ['s4'], rest: ['s1', 's2', 's3'] });
    expect(planRollout(targets, { count: 2 })).toEqual({ ok: true, canaries: ['s2', 's3'], rest: ['s1', 's4'] });
  });

  it('refuses canaries that cannot tell anything', () => {
    expect(planRollout(targets, { ids: ['s1'] })).toMatchObject({ ok: false, message: expect.stringContaining('s1 is offline') });
    expect(planRollout(targets, { ids: ['s9'] })).toMatchObject({ ok: false, message: expect.stringContaining('s9') });
    expect(planRollout(targets, { count: 4 })).toMatchObject({ ok: false, message: '4 canaries asked for, 3 of the rollout\'s gateways are connected' });
  });
});

describe('canary watch', () => {
  const up = [{ name: 'fiber', state: 'up' as const }, { name: 'lte', state: 'down' as const }];
  const watch = () => new CanaryWatch('s1', 'v2', ['fiber'], 0, 1000, 5000);

  it('is healthy once it reported the new version and stayed healthy for the window', () => {
    const w = watch();
    expect(w.verdict(10).state).toBe('applying');
    w.observe({ kind: 'answer', ok: true }, 100);
    expect(w.verdict(150).state).toBe('applying');
    w.observe({ kind: 'report', configVersion: 'v2', paths: up }, 300);
    expect(w.verdict(1000).state).toBe('watching');
    expect(w.verdict(1100)).toEqual({ state: 'healthy' });
  });

  it('waits for the gateway\'s own health check (its answer), or for the answer to be given up on', () => {
    const w = watch();
    w.observe({ kind: 'report', configVersion: 'v2', paths: up }, 100);
    expect(w.verdict(3000).state).toBe('watching');
    w.observe({ kind: 'answer', ok: true }, 3000);
    expect(w.verdict(3000).state).toBe('healthy');

    const silent = watch();
    silent.observe({ kind: 'report', configVersion: 'v2', paths: up }, 100);
    silent.observe({ kind: 'no_answer' }, 4000);
    expect(silent.verdict(4000).state).toBe('healthy');
  });

  it.each<[string, (w: CanaryWatch) => void, string]>([
    ['a refused apply', (w) => w.observe({ kind: 'answer', ok: false, error: 'invalid: paths' }, 100), 'config.apply failed: invalid: paths'],
    ['a rollback event', (w) => w.observe({ kind: 'event', event: 'config.rolled_back' }, 100), 'the gateway rolled the config back'],
    ['a journal error', (w) => w.observe({ kind: 'event', event: 'journal.error' }, 100), 'journal error'],
    [
      'a path that was up going down',
      (w) => {
        w.observe({ kind: 'report', configVersion: 'v2', paths: up }, 100);
        w.observe({ kind: 'report', configVersion: 'v2', paths: [{ name: 'fiber', state: 'down' }] }, 200);
      },
      'path fiber went down',
    ],
    [
      'the old version reported again',
      (w) => {
        w.observe({ kind: 'report', configVersion: 'v2', paths: up }, 100);
        w.observe({ kind: 'report', configVersion: 'v1', paths: up }, 200);
      },
      'went back to config v1',
    ],
    ['no report in time', () => undefined, 'did not report the new config within 5000 ms'],
  ])('fails on %s', (_name, act, reason) => {
    const w = watch();
    act(w);
    expect(w.verdict(6000)).toEqual({ state: 'failed', reason });
  });

  it('ignores a path that was already down, and a short disconnection', () => {
    const w = watch();
    w.observe({ kind: 'answer', ok: true }, 0);
    w.observe({ kind: 'report', configVersion: 'v2', paths: up }, 0);
    w.observe({ kind: 'offline' }, 200);
    w.observe({ kind: 'online' }, 700);
    w.observe({ kind: 'report', configVersion: 'v2', paths: up }, 700);
    expect(w.verdict(1500).state).toBe('healthy');
  });

  it('fails a canary that stays away', () => {
    const w = watch();
    w.observe({ kind: 'answer', ok: true }, 0);
    w.observe({ kind: 'report', configVersion: 'v2', paths: up }, 0);
    w.observe({ kind: 'offline' }, 200);
    expect(w.verdict(1000).state).toBe('watching');
    expect(w.verdict(1300)).toEqual({ state: 'failed', reason: 'offline for more than 1000 ms' });
  });
});
