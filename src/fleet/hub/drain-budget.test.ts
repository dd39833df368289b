import { describe, expect, it } from 'vitest';
import { DrainBudgets } from './drain-budget.js';

function budgets(drainBudgetPerSec = 100, leaseMs = 30_000, heldElsewhere?: Map<string, number>) {
  let now = 1_000_000;
  const sent: { id: string; ratePerSec: number }[] = [];
  const unreachable = new Set<string>();
  const b = new DrainBudgets({
    budgets: { north: { drainBudgetPerSec } },
    leaseMs,
    send: (id, ratePerSec) => !unreachable.has(id) && sent.push({ id, ratePerSec }) > 0,
    ...(heldElsewhere && { heldElsewhere: () => heldElsewhere }),
    now: () => now,
  });
  const last = (id: string) => sent.filter((s) => s.id === id).at(-1)?.ratePerSec;
  return { b, sent, last, unreachable, advance: (ms: number) => (now += ms), now: () => now };
}

describe('region drain budgets', () => {
  it('grants every store of a budgeted region a share, and leaves other regions alone', () => {
    const { b, sent, last } = budgets();
    b.joined('a', 'north');
    b.joined('b', 'north');
    b.joined('x', 'south');
    expect(last('a')).toBeLessThanOrEqual(50);
    expect(last('b')).toBeLessThanOrEqual(50);
    expect(sent.some((s) => s.id === 'x')).toBe(false);
  });

  it('shares by backlog age, and gives a finished store\'s share to the others', () => {
    const { b, last, now } = budgets();
    for (const id of ['a', 'b', 'c']) b.joined(id, 'north');
    b.backlog('a', { pending: 500, oldestAgeS: 1200 }, now());
    b.backlog('b', { pending: 500, oldestAgeS: 600 }, now());
    b.backlog('c', { pending: 500, oldestAgeS: 600 }, now());
    expect(last('a')).toBeGreaterThan(last('b')!);
    const before = last('b')!;
    b.backlog('a', { pending: 0, oldestAgeS: 0 }, now() + 1000);
    expect(last('b')).toBeGreaterThan(before);
    expect(last('a')).toBeLessThan(10);
    expect(b.view()[0]).toMatchObject({ region: 'north', budgetPerSec: 100, stores: 3, backlogged: 2, pending: 1000, drainingPerSec: 500 });
  });

  it('with other hub replicas, shares out the part of the budget its stores are of the region\'s, and follows as they move', () => {
    const elsewhere = new Map([['north', 3]]);
    const { b, last, now } = budgets(100, 30_000, elsewhere);
    b.joined('a', 'north');
    b.backlog('a', { pending: 500, oldestAgeS: 600 }, now());
    // One store here, three on other replicas: a quarter of the budget is this replica's to give.
    expect(last('a')).toBeLessThanOrEqual(25);
    expect(last('a')).toBeGreaterThan(20);
    expect(b.view()[0]).toMatchObject({ budgetPerSec: 100, budgetHerePerSec: 25 });
    elsewhere.set('north', 0);
    b.tick();
    expect(last('a')).toBeGreaterThan(90);
  });

  it('tells the stores that give up budget before those that take it', () => {
    const { b, sent, now } = budgets();
    b.joined('a', 'north');
    b.backlog('a', { pending: 100, oldestAgeS: 100 }, now());
    b.joined('b', 'north');
    sent.length = 0;
    b.backlog('b', { pending: 100, oldestAgeS: 900 }, now());
    expect(sent.map((s) => s.id)).toEqual(['a', 'b']);
    expect(sent[0]!.ratePerSec).toBeLessThan(sent[1]!.ratePerSec);
  });

  it('never grants more than the budget, counting what a departed store still holds until its lease ends', () => {
    const { b, last, advance, now } = budgets(100, 30_000);
    b.joined('a', 'north');
    b.backlog('a', { pending: 100, oldestAgeS: 100 }, now());
    const held = last('a')!;
    expect(held).toBeGreaterThan(90);
    b.left('a');
    b.joined('b', 'north');
    b.backlog('b', { pending: 100, oldestAgeS: 100 }, now());
    expect(last('b')!).toBeLessThanOrEqual(100 - held);
    expect(b.view()[0]!.grantedPerSec).toBeLessThanOrEqual(100);
    advance(31_001);
    b.tick();
    expect(last('b')).toBeGreaterThan(90);
    expect(b.view()[0]).toMatchObject({ stores: 1 });
  });

  it('renews a grant once less than half its lease is left, and not before', () => {
    const { b, sent, advance } = budgets(100, 20_000);
    b.joined('a', 'north');
    const n = sent.length;
    advance(5000);
    b.tick();
    expect(sent.length).toBe(n);
    advance(5001);
    b.tick();
    expect(sent.length).toBe(n + 1);
  });

  it('keeps no grant it could not send: the next change tries again', () => {
    const { b, sent, unreachable, now } = budgets();
    unreachable.add('a');
    b.joined('a', 'north');
    expect(sent).toEqual([]);
    unreachable.clear();
    b.backlog('a', { pending: 1, oldestAgeS: 1 }, now());
    expect(sent.map((s) => s.id)).toEqual(['a']);
  });
});
