import { describe, expect, it } from 'vitest';
import { ErpBreaker } from './erp-breaker.js';

describe('ERP breaker', () => {
  it('allows live tries until a failure, then pauses them for the cool-off', () => {
    const b = new ErpBreaker(1000);
    expect(b.allowLive(0)).toBe(true);
    b.failed(100);
    expect(b.allowLive(100)).toBe(false);
    expect(b.allowLive(1099)).toBe(false);
    expect(b.allowLive(1100)).toBe(true);
  });
  it('closes at once on a success', () => {
    const b = new ErpBreaker(1000);
    b.failed(0);
    b.succeeded();
    expect(b.allowLive(1)).toBe(true);
  });
  it('extends the pause on each failure', () => {
    const b = new ErpBreaker(1000);
    b.failed(0);
    b.failed(900);
    expect(b.allowLive(1500)).toBe(false);
    expect(b.allowLive(1900)).toBe(true);
  });
});
