import { describe, expect, it } from 'vitest';
import type { AgentStatus } from './host.js';
import { outcomeTotal, upPaths, verdict } from './health.js';

function status(states: Record<string, 'up' | 'degraded' | 'down'>): AgentStatus {
  return {
    configVersion: 'v',
    paths: Object.entries(states).map(([name, state]) => ({ name, state, score: 50, rttMs: 10, jitterMs: 1, lossPct: 0 })),
    queue: { pending: 0, dead: 0, unknown: 0, oldestAgeS: 0, bytes: 0, maxBytes: 100, maxAgeS: 604_800, expiryWarning: null },
  };
}

describe('config health check', () => {
  const wasUp = upPaths(status({ fiber: 'up', lte: 'down', dsl: 'degraded' }));

  it('remembers which paths were UP before the change', () => {
    expect(wasUp).toEqual(['fiber']);
  });

  it('fails when a path that was UP goes DOWN, not for one that was already down or only degrades', () => {
    expect(verdict(wasUp, { ok: true, status: status({ fiber: 'degraded', lte: 'down', dsl: 'down' }), journalErrors: 0 })).toEqual({ healthy: true });
    expect(verdict(wasUp, { ok: true, status: status({ fiber: 'down', lte: 'up' }), journalErrors: 0 })).toEqual({
      healthy: false,
      check: 'path_down',
      reason: 'path fiber went DOWN (it was UP before the change)',
    });
  });

  it('fails when the journal does not answer or refuses requests', () => {
    expect(verdict(wasUp, { ok: false, error: 'journal worker exited' })).toMatchObject({ healthy: false, check: 'journal', reason: expect.stringContaining('journal worker exited') });
    expect(verdict(wasUp, { ok: true, status: status({ fiber: 'up' }), journalErrors: 2 })).toMatchObject({ healthy: false, check: 'journal' });
  });

  it('counts one outcome over every route and class', () => {
    const counts = [
      { labels: { route: 'a', class: 'critical', outcome: 'journal_error' }, value: 2 },
      { labels: { route: 'b', class: 'bulk', outcome: 'journal_error' }, value: 1 },
      { labels: { route: 'a', class: 'critical', outcome: 'buffered' }, value: 7 },
    ];
    expect(outcomeTotal(counts, 'journal_error')).toBe(3);
  });
});
