import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

describe('drain-rate token bucket', () => {
  it('starts with one token, not a burst', () => {
    const b = new TokenBucket(50, 0);
    expect(b.available(0)).toBe(1);
  });

  it('refills at the rate, up to one second of tokens', () => {
    const b = new TokenBucket(10, 0);
    expect(b.take(0)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.msUntilToken(0)).toBe(100);
    expect(b.available(250)).toBe(2);
    expect(b.available(60_000)).toBe(10);
  });

  it('delivers the configured rate over time', () => {
    const b = new TokenBucket(20, 0);
    let taken = 0;
    for (let t = 0; t <= 10_000; t += 7) while (b.take(t)) taken++;
    expect(taken).toBeGreaterThanOrEqual(199);
    expect(taken).toBeLessThanOrEqual(202);
  });

  it('takes a new rate at once, without a burst from the old one', () => {
    const b = new TokenBucket(100, 0);
    b.available(5000);
    b.setRate(2, 5000);
    expect(b.available(5000)).toBe(2);
    expect(b.rate).toBe(2);
  });

  it('works below one per second', () => {
    const b = new TokenBucket(0.5, 0);
    expect(b.take(0)).toBe(false);
    expect(b.msUntilToken(0)).toBe(1000);
    expect(b.take(1000)).toBe(true);
    expect(b.take(2999)).toBe(false);
    expect(b.take(3000)).toBe(true);
  });

  it('lets nothing through at a rate of 0, not even the token left from before', () => {
    const b = new TokenBucket(10, 0);
    b.available(1000);
    b.setRate(0, 1000);
    expect(b.available(1000)).toBe(0);
    expect(b.take(60_000)).toBe(false);
    expect(b.msUntilToken(60_000)).toBe(Number.POSITIVE_INFINITY);
    b.setRate(5, 60_000);
    expect(b.take(60_200)).toBe(true);
  });
});
