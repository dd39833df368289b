import { describe, expect, it } from 'vitest';
import { reconnectDelay, refusedDelay } from './backoff.js';

const s = { baseMs: 1000, maxMs: 60_000 };

describe('reconnect backoff', () => {
  it('waits up to base * 2^failures, capped, never below zero', () => {
    expect([0, 1, 2, 3, 5].map((n) => reconnectDelay(n, s, () => 0.999999))).toEqual([999, 1999, 3999, 7999, 31_999]);
    expect(reconnectDelay(6, s, () => 0.999999)).toBe(59_999);
    expect(reconnectDelay(1000, s, () => 0.999999)).toBe(59_999);
    expect(reconnectDelay(3, s, () => 0)).toBe(0);
  });

  it('spreads a fleet over the whole window (full jitter)', () => {
    let i = 0;
    const steps = [0.1, 0.5, 0.9];
    expect(steps.map(() => reconnectDelay(4, s, () => steps[i++]!))).toEqual([1600, 8000, 14_400]);
  });

  it('retries a refused token at about the cap', () => {
    expect(refusedDelay(s, () => 0)).toBe(54_000);
    expect(refusedDelay(s, () => 0.999999)).toBe(59_999);
  });
});
