import { describe, expect, it } from 'vitest';
import { rounds, statementRuns, values } from './values.js';

describe('many rows in one statement', () => {
  it('splits items into runs of at most one statement', () => {
    expect(statementRuns(Array.from({ length: 1001 }, (_, i) => i)).map((r) => r.length)).toEqual([500, 500, 1]);
  });

  it('spells VALUES for a count of rows', () => {
    expect(values(2, '?, ?')).toBe('VALUES (?, ?), (?, ?)');
  });

  it('puts a key that comes again into a later round, each key\'s items in their order', () => {
    const items = [
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
      { id: 'a', n: 3 },
      { id: 'c', n: 4 },
      { id: 'a', n: 5 },
      { id: 'b', n: 6 },
    ];
    expect(rounds(items, (i) => i.id).map((r) => r.map((i) => i.n))).toEqual([[1, 2, 4], [3, 6], [5]]);
    expect(rounds([], (i: { id: string }) => i.id)).toEqual([]);
  });
});
