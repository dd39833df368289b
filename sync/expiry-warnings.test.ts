import { describe, expect, it } from 'vitest';
import { ExpiryWarnings } from './expiry-warnings.js';

const MAX = 1000;
const FRACTIONS = [0.5, 0.9];

describe('expiry warnings', () => {
  it('raises each fraction once as the oldest entry ages past it, not at every look', () => {
    const w = new ExpiryWarnings();
    expect(w.observe(0, MAX, FRACTIONS)).toBeUndefined();
    expect(w.observe(499, MAX, FRACTIONS)).toBeUndefined();
    expect(w.observe(500, MAX, FRACTIONS)).toEqual({ kind: 'raised', fraction: 0.5 });
    expect(w.observe(600, MAX, FRACTIONS)).toBeUndefined();
    expect(w.observe(899, MAX, FRACTIONS)).toBeUndefined();
    expect(w.observe(900, MAX, FRACTIONS)).toEqual({ kind: 'raised', fraction: 0.9 });
    expect(w.observe(990, MAX, FRACTIONS)).toBeUndefined();
    expect(w.level).toBe(0.9);
  });

  it('raises only the highest fraction when a look finds several passed at once (a restart with an old backlog)', () => {
    const w = new ExpiryWarnings();
    expect(w.observe(950, MAX, FRACTIONS)).toEqual({ kind: 'raised', fraction: 0.9 });
    expect(w.observe(960, MAX, FRACTIONS)).toBeUndefined();
  });

  it('clears once the backlog drains below the lowest fraction, and raises again on the next crossing', () => {
    const w = new ExpiryWarnings();
    w.observe(920, MAX, FRACTIONS);
    // The oldest entries were delivered: what is left is young.
    expect(w.observe(10, MAX, FRACTIONS)).toEqual({ kind: 'cleared', fraction: 0.9 });
    expect(w.level).toBeUndefined();
    expect(w.observe(0, MAX, FRACTIONS)).toBeUndefined();
    expect(w.observe(510, MAX, FRACTIONS)).toEqual({ kind: 'raised', fraction: 0.5 });
  });

  it('an emptied journal (oldest age 0) clears', () => {
    const w = new ExpiryWarnings();
    w.observe(600, MAX, FRACTIONS);
    expect(w.observe(0, MAX, FRACTIONS)).toEqual({ kind: 'cleared', fraction: 0.5 });
  });

  it('does not warn again while a FIFO drain hovers just below a fraction it passed', () => {
    const w = new ExpiryWarnings();
    expect(w.observe(905, MAX, FRACTIONS)).toEqual({ kind: 'raised', fraction: 0.9 });
    // Each delivery leaves a slightly younger entry oldest, within the margin.
    for (const age of [899, 903, 870, 901, 860]) expect(w.observe(age, MAX, FRACTIONS)).toBeUndefined();
    expect(w.level).toBe(0.9);
    // Clearly below 90 %: down to the 50 % warning, silently; passing 90 % again is news.
    expect(w.observe(800, MAX, FRACTIONS)).toBeUndefined();
    expect(w.level).toBe(0.5);
    expect(w.observe(900, MAX, FRACTIONS)).toEqual({ kind: 'raised', fraction: 0.9 });
  });

  it('takes fractions in any order, and none (warnings off)', () => {
    const w = new ExpiryWarnings();
    expect(w.observe(950, MAX, [0.9, 0.5])).toEqual({ kind: 'raised', fraction: 0.9 });
    const off = new ExpiryWarnings();
    expect(off.observe(999, MAX, [])).toBeUndefined();
    expect(off.level).toBeUndefined();
  });

  it('follows a reload that removes the raised fraction', () => {
    const w = new ExpiryWarnings();
    w.observe(950, MAX, FRACTIONS);
    expect(w.observe(950, MAX, [0.5])).toBeUndefined();
    expect(w.level).toBe(0.5);
    expect(w.observe(950, MAX, [])).toEqual({ kind: 'cleared', fraction: 0.5 });
  });
});
