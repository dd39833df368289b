import { describe, expect, it } from 'vitest';
import type { PathView } from '../link/path-view.js';
import { choosePath } from './path-choice.js';

const p = (name: string, over: Partial<PathView> = {}): PathView => ({
  name,
  allowClasses: ['critical', 'interactive', 'normal', 'bulk'],
  metered: false,
  state: 'up',
  score: 100,
  ...over,
});

describe('path choice', () => {
  it('takes the first configured path when all are equal', () => {
    expect(choosePath('normal', [p('fiber'), p('dsl')])?.name).toBe('fiber');
  });
  it('never takes a DOWN path', () => {
    expect(choosePath('critical', [p('fiber', { state: 'down', score: 100 }), p('lte', { metered: true, score: 10 })])?.name).toBe('lte');
    expect(choosePath('critical', [p('fiber', { state: 'down' })])).toBeUndefined();
  });
  it('respects allowClasses', () => {
    const lte = p('lte', { allowClasses: ['critical', 'interactive'], metered: true });
    expect(choosePath('bulk', [p('fiber', { state: 'down' }), lte])).toBeUndefined();
    expect(choosePath('interactive', [p('fiber', { state: 'down' }), lte])?.name).toBe('lte');
  });
  it('tries an UNKNOWN path (a store just started) as it would an UP one: nothing is refused at start', () => {
    expect(choosePath('normal', [p('fiber', { state: 'unknown' }), p('lte', { state: 'unknown', metered: true })])?.name).toBe('fiber');
    expect(choosePath('bulk', [p('fiber', { state: 'unknown' })], 0)?.name).toBe('fiber');
  });
  it('puts UNKNOWN after UP and before DEGRADED, whatever the metering', () => {
    expect(choosePath('normal', [p('fiber', { state: 'unknown' }), p('lte', { metered: true })])?.name).toBe('lte');
    expect(choosePath('normal', [p('fiber', { state: 'degraded' }), p('lte', { state: 'unknown', metered: true })])?.name).toBe('lte');
  });
  it('prefers UP over DEGRADED, then unmetered, then score', () => {
    expect(choosePath('normal', [p('a', { state: 'degraded', score: 99 }), p('b', { score: 40 })])?.name).toBe('b');
    expect(choosePath('normal', [p('a', { score: 60 }), p('b', { score: 80 })])?.name).toBe('b');
    expect(choosePath('normal', [p('lte', { metered: true }), p('fiber')])?.name).toBe('fiber');
    // A point of score is not worth paying a metered line for.
    expect(choosePath('critical', [p('fiber', { score: 97 }), p('lte', { metered: true, score: 98 })])?.name).toBe('fiber');
    // A DEGRADED fiber still yields to an UP LTE.
    expect(choosePath('critical', [p('fiber', { state: 'degraded' }), p('lte', { metered: true })])?.name).toBe('lte');
  });
  it('gives a class paused on DEGRADED paths (share 0) none of them', () => {
    expect(choosePath('bulk', [p('fiber', { state: 'degraded' })], 0)).toBeUndefined();
    expect(choosePath('bulk', [p('fiber', { state: 'degraded' }), p('dsl', { state: 'up', score: 20 })], 0)?.name).toBe('dsl');
    expect(choosePath('normal', [p('fiber', { state: 'degraded' })], 0.25)?.name).toBe('fiber');
  });
});
