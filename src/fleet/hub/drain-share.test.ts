import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLOOR_SHARE, onGrid, shareBudget, type StoreBacklog } from './drain-share.js';

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('drain budget shares', () => {
  it('gives nothing to no one', () => {
    expect(shareBudget(100, []).size).toBe(0);
  });

  it('splits evenly while no store has a backlog', () => {
    const shares = shareBudget(90, [
      { id: 'a', pending: 0, oldestAgeS: 0 },
      { id: 'b', pending: 0, oldestAgeS: 0 },
      { id: 'c', pending: 0, oldestAgeS: 0 },
    ]);
    for (const s of shares.values()) expect(s).toBeGreaterThan(30 / 1.05);
    expect(sum(shares)).toBeLessThanOrEqual(90);
  });

  it('weights the backlogs by the age of their oldest entry', () => {
    const shares = shareBudget(100, [
      { id: 'old', pending: 10, oldestAgeS: 3000 },
      { id: 'new', pending: 5000, oldestAgeS: 1000 },
      { id: 'idle', pending: 0, oldestAgeS: 0 },
    ]);
    const floor = (100 * FLOOR_SHARE) / 3;
    expect(shares.get('idle')).toBeGreaterThan(floor / 1.05);
    expect(shares.get('idle')).toBeLessThanOrEqual(floor);
    // The rest (80) goes 3:1.
    expect(shares.get('old')).toBeGreaterThan((floor + 60) / 1.05);
    expect(shares.get('new')).toBeGreaterThan((floor + 20) / 1.05);
    expect(shares.get('old')).toBeGreaterThan(shares.get('new')!);
  });

  it('gives the budget of a store that finished to those still draining', () => {
    const before = shareBudget(100, [
      { id: 'a', pending: 100, oldestAgeS: 600 },
      { id: 'b', pending: 100, oldestAgeS: 600 },
    ]);
    const after = shareBudget(100, [
      { id: 'a', pending: 0, oldestAgeS: 0 },
      { id: 'b', pending: 40, oldestAgeS: 500 },
    ]);
    expect(after.get('b')).toBeGreaterThan(before.get('b')!);
    expect(after.get('a')).toBeLessThanOrEqual(10);
  });

  it('hands out only what grants still running elsewhere leave', () => {
    const shares = shareBudget(100, [{ id: 'a', pending: 5, oldestAgeS: 60 }], 40);
    expect(shares.get('a')).toBeLessThanOrEqual(60);
    expect(shares.get('a')).toBeGreaterThan(60 / 1.05);
    expect(shareBudget(100, [{ id: 'a', pending: 5, oldestAgeS: 60 }], 150).get('a')).toBe(0);
  });

  it('rounds down onto a 5% grid', () => {
    expect(onGrid(0)).toBe(0);
    expect(onGrid(0.001)).toBe(0);
    expect(onGrid(1)).toBe(1);
    expect(onGrid(1.05)).toBe(1.05);
    expect(onGrid(1.04)).toBe(1);
    // Small changes of a share leave its grid value alone.
    expect(onGrid(50.2)).toBe(onGrid(50.9));
  });

  it('never sums above the budget, and starves no store, whatever the backlogs', () => {
    const store = fc.record({ pending: fc.integer({ min: 0, max: 1_000_000 }), oldestAgeS: fc.double({ min: 0, max: 1e6, noNaN: true }) });
    fc.assert(
      fc.property(fc.double({ min: 1, max: 100_000, noNaN: true }), fc.array(store, { minLength: 1, maxLength: 300 }), (budget, list) => {
        const stores: StoreBacklog[] = list.map((s, i) => ({ id: `s${i}`, ...s }));
        const shares = shareBudget(budget, stores);
        expect(sum(shares)).toBeLessThanOrEqual(budget);
        const floor = (budget * FLOOR_SHARE) / stores.length;
        for (const s of stores) expect(shares.get(s.id)).toBeGreaterThanOrEqual(onGrid(floor));
      }),
    );
  });
});
