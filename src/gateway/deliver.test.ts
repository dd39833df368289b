import { describe, expect, it } from 'vitest';
import { pathVerdict } from './deliver.js';

describe('what an attempt says of its path', () => {
  it('an answer: it works; no connection: it does not; a timeout or a shed attempt: nothing', () => {
    expect(pathVerdict({ outcome: { kind: 'response' } })).toBe(true);
    expect(pathVerdict({ outcome: { kind: 'network' } })).toBe(false);
    expect(pathVerdict({ outcome: { kind: 'lost' } })).toBe(false);
    // A request that timed out on a silently dropping link must not count as the link working.
    expect(pathVerdict({ outcome: { kind: 'timeout' } })).toBeUndefined();
    // Nothing was sent before the deadline (no connection yet): safe to retry, and still no verdict on the path.
    expect(pathVerdict({ outcome: { kind: 'network' }, timedOut: true })).toBeUndefined();
    expect(pathVerdict({ outcome: { kind: 'network' }, shed: true })).toBeUndefined();
  });
});
