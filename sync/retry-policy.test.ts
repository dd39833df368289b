import { describe, expect, it } from 'vitest';
import { decide, fullJitterDelay, parseRetryAfter, type AttemptOutcome, type BackoffSettings } from './retry-policy.js';

const s: BackoffSettings = { baseMs: 500, maxMs: 60_000, maxServerErrorAttempts: 3 };
const top = () => 0.999999;

describe('retry policy', () => {
  it.each<[number, string]>([
    [200, 'delivered'],
    [201, 'delivered'],
    [304, 'delivered'],
    [408, 'retry'],
    [425, 'retry'],
    [429, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [400, 'dead'],
    [401, 'dead'],
    [403, 'dead'],
    [404, 'dead'],
    [409, 'dead'],
    [422, 'dead'],
    [501, 'dead'],
  ])('HTTP %i -> %s', (status, action) => {
    expect(decide({ kind: 'response', status }, 1, s, 'key').action).toBe(action);
  });

  it('retries network errors and timeouts', () => {
    expect(decide({ kind: 'network', detail: 'ECONNREFUSED' }, 7, s, 'key')).toMatchObject({ action: 'retry', reason: 'network: ECONNREFUSED' });
    expect(decide({ kind: 'timeout', detail: 'x' }, 1, s, 'key').action).toBe('retry');
  });

  it('retries a 500 a bounded number of times, then gives up', () => {
    expect(decide({ kind: 'response', status: 500 }, 2, s, 'key').action).toBe('retry');
    expect(decide({ kind: 'response', status: 500 }, 3, s, 'key')).toEqual({ action: 'dead', reason: 'HTTP 500 after 3 attempts' });
  });

  it('treats a JSON-RPC error in a 200 as a permanent refusal', () => {
    expect(decide({ kind: 'response', status: 200, jsonRpcError: 'Odoo Server Error: ValidationError' }, 1, s, 'key')).toEqual({
      action: 'dead',
      reason: 'ERP error: Odoo Server Error: ValidationError',
    });
  });

  it('honours Retry-After as a floor', () => {
    expect(decide({ kind: 'response', status: 503, retryAfterMs: 30_000 }, 1, s, 'key', () => 0)).toMatchObject({ action: 'retry', delayMs: 30_000 });
    expect(decide({ kind: 'response', status: 429, retryAfterMs: 10 }, 4, s, 'key', top)).toMatchObject({ delayMs: 3999 });
  });

  it('backs off exponentially with full jitter, capped', () => {
    expect(fullJitterDelay(1, s, top)).toBe(499);
    expect(fullJitterDelay(2, s, top)).toBe(999);
    expect(fullJitterDelay(5, s, top)).toBe(7999);
    expect(fullJitterDelay(30, s, top)).toBe(59_999);
    expect(fullJitterDelay(8, s, () => 0)).toBe(0);
    const samples = Array.from({ length: 2000 }, () => fullJitterDelay(4, s));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(4000);
    // Full jitter spreads retries over the whole window, not around its end.
    expect(samples.filter((d) => d < 2000).length).toBeGreaterThan(700);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  describe('an ERP that does not dedupe', () => {
    it.each<[string, AttemptOutcome]>([
      ['a timeout', { kind: 'timeout', detail: 'no response within 1000 ms' }],
      ['a broken connection', { kind: 'lost', detail: 'UND_ERR_SOCKET' }],
      ["a proxy's 502", { kind: 'response', status: 502 }],
      ["a proxy's 504", { kind: 'response', status: 504 }],
    ])('holds %s as unknown instead of sending it again', (_name, outcome) => {
      expect(decide(outcome, 1, s, 'none')).toMatchObject({ action: 'unknown' });
      expect(decide(outcome, 1, s, 'natural').action).toBe('retry');
      expect(decide(outcome, 1, s, 'key').action).toBe('retry');
    });
    it('retries what provably never reached it, and what it refused without applying', () => {
      expect(decide({ kind: 'network', detail: 'ECONNREFUSED' }, 1, s, 'none').action).toBe('retry');
      expect(decide({ kind: 'response', status: 503 }, 1, s, 'none').action).toBe('retry');
      expect(decide({ kind: 'response', status: 429 }, 1, s, 'none').action).toBe('retry');
      expect(decide({ kind: 'response', status: 200 }, 1, s, 'none').action).toBe('delivered');
    });
  });
});
