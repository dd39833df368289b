import { describe, expect, it } from 'vitest';
import { DrainLimit } from './drain-limit.js';

describe('replay drain limit', () => {
  it('is the own rate without a grant', () => {
    const l = new DrainLimit(50);
    expect(l.rate(0)).toBe(50);
    expect(l.current(0)).toBeUndefined();
  });

  it('lowers the rate while a grant runs, never raises it', () => {
    const l = new DrainLimit(50);
    l.grant(10, 30_000, 1000);
    expect(l.rate(1000)).toBe(10);
    expect(l.current(11_000)).toEqual({ ratePerSec: 10, remainingMs: 20_000 });
    l.grant(500, 30_000, 2000);
    expect(l.rate(2000)).toBe(50);
  });

  it('falls back to the own rate when the lease ends unrenewed', () => {
    const l = new DrainLimit(50);
    l.grant(0, 5000, 0);
    expect(l.rate(4999)).toBe(0);
    expect(l.rate(5000)).toBe(50);
    expect(l.current(5000)).toBeUndefined();
  });

  it('keeps the grant over a change of the own rate (a reload, an operator)', () => {
    const l = new DrainLimit(50);
    l.grant(20, 10_000, 0);
    l.setOwn(5);
    expect(l.rate(1)).toBe(5);
    l.setOwn(100);
    expect(l.rate(2)).toBe(20);
    expect(l.own).toBe(100);
  });
});
