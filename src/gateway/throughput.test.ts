import { describe, expect, it } from 'vitest';
import { ThroughputEstimator } from './throughput.js';

describe('throughput estimator', () => {
  it('knows nothing before a tenth of a second of busy time', () => {
    const e = new ThroughputEstimator();
    e.add(4_000, 40);
    e.add(4_000, 40);
    expect(e.bytesPerSecond).toBeUndefined();
    e.add(2_000, 20);
    expect(e.bytesPerSecond).toBe(100_000);
  });

  it('reads the rate over busy time only, however sparse the answers', () => {
    const e = new ThroughputEstimator();
    // 2 Mbit/s: 250 000 bytes a second, one 16 KiB answer every so often (the idle gaps are not given to it).
    for (let i = 0; i < 20; i++) e.add(16_384, (16_384 / 250_000) * 1000);
    expect(e.bytesPerSecond).toBeCloseTo(250_000, -2);
  });

  it('reads a burst after a held spell at the rate of both together, and forgets old bins after twenty more', () => {
    const e = new ThroughputEstimator();
    // 100 ms held (little read), then what was held read at once.
    e.add(2_000, 100);
    e.add(18_000, 100);
    expect(e.bytesPerSecond).toBe(100_000);
    for (let i = 0; i < 20; i++) e.add(20_000, 100);
    expect(e.bytesPerSecond).toBe(200_000);
  });
});
