import { describe, expect, it } from 'vitest';
import { matches, parseDomain } from './domain.js';

describe('parseDomain', () => {
  it("reads '=' and 'in' terms, an explicit '&' and no domain at all", () => {
    expect(parseDomain([['id', '=', 3], '&', ['state', 'in', ['done', 'cancel']]])).toEqual([
      { field: 'id', op: '=', value: 3 },
      { field: 'state', op: 'in', values: ['done', 'cancel'] },
    ]);
    expect(parseDomain(undefined)).toEqual([]);
    expect(parseDomain([])).toEqual([]);
  });

  it('refuses what it does not model rather than guessing', () => {
    for (const d of ['x', [['id', '>', 3]], ['|', ['id', '=', 1], ['id', '=', 2]], [['id', 'in', 3]], [['id', '=']], [[1, '=', 1]]]) {
      expect(parseDomain(d), JSON.stringify(d)).toHaveProperty('error');
    }
  });
});

describe('matches', () => {
  it('needs every term to hold', () => {
    const terms = parseDomain([['id', 'in', [1, 2]], ['state', '=', 'done']]);
    if ('error' in terms) throw new Error(terms.error);
    expect(matches({ id: 1, state: 'done' }, terms)).toBe(true);
    expect(matches({ id: 1, state: 'assigned' }, terms)).toBe(false);
    expect(matches({ id: 3, state: 'done' }, terms)).toBe(false);
    expect(matches({ id: 3 }, [])).toBe(true);
  });
});
