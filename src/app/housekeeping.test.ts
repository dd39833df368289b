import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Journal } from '../../sync/journal.js';
import type { ExpiredEntries, ExpiryWarningChange } from '../fleet/agent/host.js';
import { Housekeeping } from './housekeeping.js';
import { createSignals } from './signals.js';

const receipt = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** A journal whose pending entries all expire in batches of at most 1000 (as the store's), with an oldest age the test sets. */
function fakeJournal(toExpire: number) {
  let left = toExpire;
  let next = 0;
  const state = { oldestAgeS: 0, pending: 5, expireCalls: 0 };
  const journal = {
    expire: async () => {
      state.expireCalls++;
      const n = Math.min(1000, left);
      left -= n;
      return Array.from({ length: n }, () => receipt(next++));
    },
    byReceipt: async (r: string) => ({ receipt: r, route: 'pos-orders', lastError: 'expired: pending longer than 168 h' }),
    purgeDelivered: async () => 0,
    stats: async () => ({ pending: state.pending, oldestAgeS: state.oldestAgeS }),
  } as unknown as Journal;
  return { journal, state };
}

function housekeeping(journal: Journal, maxAgeHours = 168, expiryWarnings = [0.5, 0.9]) {
  const signals = createSignals();
  const expired: ExpiredEntries[] = [];
  const warnings: ExpiryWarningChange[] = [];
  signals.on('expired', (e) => expired.push(e));
  signals.on('expiry', (c) => warnings.push(c));
  const h = new Housekeeping({ journal, buffer: () => ({ maxAgeHours, expiryWarnings }), signals, logger: pino({ level: 'silent' }) });
  return { h, expired, warnings };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('journal housekeeping', () => {
  it('expires until none is left, and reports the pass as one event: the count and the first ten entries', async () => {
    const { journal, state } = fakeJournal(2500);
    const { h, expired } = housekeeping(journal);
    await h.start();
    h.stop();
    expect(state.expireCalls).toBe(4);
    expect(expired).toHaveLength(1);
    expect(expired[0]).toEqual({
      count: 2500,
      maxAgeHours: 168,
      entries: Array.from({ length: 10 }, (_, i) => ({ receipt: receipt(i), route: 'pos-orders', reason: 'expired: pending longer than 168 h' })),
    });
  });

  it('reports nothing when nothing expired', async () => {
    const { h, expired } = housekeeping(fakeJournal(0).journal);
    await h.start();
    h.stop();
    expect(expired).toEqual([]);
  });

  it('warns once per fraction crossed, pass after pass, and clears once the backlog drained', async () => {
    vi.useFakeTimers();
    const { journal, state } = fakeJournal(0);
    const { h, warnings } = housekeeping(journal);
    const maxAgeS = 168 * 3600;
    const pass = () => vi.advanceTimersByTimeAsync(60_000);
    await h.start();
    expect([warnings, h.expiryWarning()]).toEqual([[], null]);
    state.oldestAgeS = 0.6 * maxAgeS;
    await pass();
    await pass();
    expect(warnings).toEqual([{ kind: 'raised', fraction: 0.5, oldestAgeS: Math.round(0.6 * maxAgeS), maxAgeS, pending: 5 }]);
    expect(h.expiryWarning()).toBe(0.5);
    state.oldestAgeS = 0.95 * maxAgeS;
    await pass();
    state.oldestAgeS = 0;
    state.pending = 0;
    await pass();
    expect(warnings.map((w) => [w.kind, w.fraction])).toEqual([
      ['raised', 0.5],
      ['raised', 0.9],
      ['cleared', 0.9],
    ]);
    expect(h.expiryWarning()).toBeNull();
    h.stop();
  });

  it('looks each hundredth of a max age under 100 minutes, not more often than once a second', async () => {
    vi.useFakeTimers();
    const short = fakeJournal(0);
    const a = housekeeping(short.journal, 0.5);
    await a.h.start();
    await vi.advanceTimersByTimeAsync(18_000);
    a.h.stop();
    // 30 minutes: every 18 s, after the one at start.
    expect(short.state.expireCalls).toBe(2);
    const tiny = fakeJournal(0);
    const b = housekeeping(tiny.journal, 0.0001);
    await b.h.start();
    await vi.advanceTimersByTimeAsync(3000);
    b.h.stop();
    expect(tiny.state.expireCalls).toBe(4);
  });
});
