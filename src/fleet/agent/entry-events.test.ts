import { describe, expect, it } from 'vitest';
import { BATCH_EXAMPLES } from '../protocol.js';
import { clipEntry, EntryEventLimit } from './entry-events.js';

const entry = (i: number) => ({ receipt: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, route: 'pos-orders', cls: 'critical', reason: 'HTTP 400', attempts: 1 });

describe('entry event limit', () => {
  it('sends the first of a window one by one, counts the rest into one summary sent once the window is over', () => {
    const l = new EntryEventLimit(3, 1000);
    const sent = Array.from({ length: 10_000 }, (_, i) => l.take('dead_letter', entry(i), 100 + (i % 500)));
    expect(sent.filter(Boolean)).toHaveLength(3);
    expect(sent.slice(0, 3)).toEqual([true, true, true]);
    // Not before the window is over: a burst still going on is one summary, from the first entry not sent alone.
    expect(l.due(1099)).toEqual([]);
    const [due, ...more] = l.due(1100);
    expect(more).toEqual([]);
    expect(due).toEqual({ kind: 'dead_letter', summary: { count: 9997, sinceTs: 103, entries: Array.from({ length: BATCH_EXAMPLES }, (_, i) => ({ receipt: entry(i + 3).receipt, route: 'pos-orders', reason: 'HTTP 400' })) } });
    // Each summary once; the next window starts afresh.
    expect(l.due(5000)).toEqual([]);
    expect(l.take('dead_letter', entry(1), 5000)).toBe(true);
  });

  it('sends no summary for a window within the limit', () => {
    const l = new EntryEventLimit(3, 1000);
    expect([l.take('dead_letter', entry(1), 0), l.take('dead_letter', entry(2), 10)]).toEqual([true, true]);
    expect(l.due(2000)).toEqual([]);
  });

  it('limits each kind by itself', () => {
    const l = new EntryEventLimit(1, 1000);
    expect(l.take('dead_letter', entry(1), 0)).toBe(true);
    expect(l.take('dead_letter', entry(2), 0)).toBe(false);
    expect(l.take('unknown_outcome', entry(3), 0)).toBe(true);
    expect(l.due(1000).map((d) => [d.kind, d.summary.count])).toEqual([['dead_letter', 1]]);
  });

  it('hands over every summary when the agent stops, over or not', () => {
    const l = new EntryEventLimit(1, 60_000);
    l.take('unknown_outcome', entry(1), 0);
    l.take('unknown_outcome', entry(2), 1);
    expect(l.due(2)).toEqual([]);
    expect(l.due(2, true).map((d) => [d.kind, d.summary.count])).toEqual([['unknown_outcome', 1]]);
  });

  it('clips what the protocol bounds, and keeps only the protocol\'s fields', () => {
    const long = { ...entry(1), reason: `ERP error: ${'x'.repeat(5000)}`, extra: true };
    expect(clipEntry(long)).toEqual({ ...entry(1), reason: long.reason.slice(0, 1024) });
  });
});
