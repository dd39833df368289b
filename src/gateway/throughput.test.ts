import { describe, expect, it } from 'vitest';
import { ThroughputEstimator } from './throughput.js';

describe('throughput estimator', () => {
  it('knows nothing before a quarter second of busy time', () => {
    const e = new ThroughputEstimator();
    e.add(10_000, 100);
    e.add(10_000, 100);
    expect(e.bytesPerSecond).toBeUndefined();
    e.add(5_000, 50);
    expect(e.bytesPerSecond).toBe(100_000);
  });

  it('reads the rate over busy time only, however sparse the answers', () => {
    const e = new ThroughputEstimator();
    // 2 Mbit/s: 250 000 bytes a second, one 16 KiB answer every so often (the idle gaps are not given to it).
    for (let i = 0; i < 20; i++) e.add(16_384, (16_384 / 250_000) * 1000);
    expect(e.bytesPerSecond).toBeCloseTo(250_000, -2);
  });

  it('reads a burst after a held spell at the rate of both together, and forgets old bins after eight more', () => {
    const e = new ThroughputEstimator();
    // 250 ms held (little read), then what was held read at once.
    e.add(5_000, 250);
    e.add(45_000, 250);
    expect(e.bytesPerSecond).toBe(100_000);
    for (let i = 0; i < 8; i++) e.add(50_000, 250);
    expect(e.bytesPerSecond).toBe(200_000);
  });
});
