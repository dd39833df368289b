import { describe, expect, it } from 'vitest';
import { restAfterTakeover } from './rollout-takeover.js';

describe('what is left of a rollout taken over from a replica that died', () => {
  it('starts the canary stage again with every other gateway untouched', () => {
    expect(restAfterTakeover('canary', 'v2', { failed: 0 }, ['b', 'c'], new Map())).toEqual({ queue: ['b', 'c'], counts: { total: 2, applied: 0, pending: 0, failed: 0, inFlight: 0, untouched: 2 } });
  });

  it('in the rolling stage, counts the gateways the dead replica reached from their desired rows and queues the rest', () => {
    const desired = new Map([
      ['b', { version: 'v2', applyStatus: 'applied' as const }],
      ['c', { version: 'v2', applyStatus: 'sent' as const }],
      ['d', { version: 'v2', applyStatus: 'failed' as const }],
      ['e', { version: 'v1', applyStatus: 'applied' as const }],
    ]);
    expect(restAfterTakeover('rolling', 'v2', { failed: 1 }, ['b', 'c', 'd', 'e', 'f'], desired)).toEqual({
      queue: ['e', 'f'],
      counts: { total: 5, applied: 1, pending: 1, failed: 1, inFlight: 0, untouched: 2 },
    });
  });
});
