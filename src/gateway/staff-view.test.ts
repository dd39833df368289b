import { describe, expect, it } from 'vitest';
import { ageWords, staffView, type StaffFacts } from './staff-view.js';

// 2025-03-14 14:05:09 in Paris (UTC+1).
const NOW = Date.UTC(2025, 2, 14, 13, 5, 9);
const clock = { now: NOW, timeZone: 'Europe/Paris' };
const path = (name: string, state: StaffFacts['paths'][number]['state'], stateAgeS = 60, monitored = true) => ({ name, state, monitored, stateAgeS });
const EMPTY = { pending: 0, unknown: 0, dead: 0, oldestAgeS: 0 };
const facts = (paths: StaffFacts['paths'], queue: Partial<NonNullable<StaffFacts['queue']>> = {}): StaffFacts => ({ store: 'store-0042', paths, queue: { ...EMPTY, ...queue } });

describe('staff view: the store', () => {
  it('is online when one uplink works, whatever the others do', () => {
    const v = staffView(facts([path('fiber', 'down'), path('lte', 'up')]), clock);
    expect([v.online, v.connection, v.headline, v.advice]).toEqual([true, 'online', 'The store is online.', null]);
  });

  it('is online but slow when the best uplink is DEGRADED', () => {
    const v = staffView(facts([path('fiber', 'down'), path('lte', 'degraded')]), clock);
    expect([v.online, v.connection, v.headline]).toEqual([true, 'slow', 'The store is online, but the connection is slow.']);
    expect(v.advice).toBe('Keep selling: orders may take a little longer to be sent.');
  });

  it('is offline when every uplink is DOWN, and says to keep selling', () => {
    const v = staffView(facts([path('fiber', 'down'), path('lte', 'down')]), clock);
    expect([v.online, v.connection, v.headline]).toEqual([false, 'offline', 'The store is offline.']);
    expect(v.advice).toBe('Keep selling: orders are kept in the store and sent when the connection is back.');
  });

  it('is being checked while no uplink is settled yet (a gateway just started), not offline', () => {
    const v = staffView(facts([path('fiber', 'unknown'), path('lte', 'down')]), clock);
    expect([v.online, v.connection, v.headline, v.advice]).toEqual([false, 'unknown', 'Checking the connection…', null]);
  });

  it('says it cannot tell when nothing checks the uplinks that are not down, rather than "checking" for ever', () => {
    expect(staffView(facts([path('fiber', 'down'), path('lte', 'unknown', 60, false)]), clock).headline).toBe('The gateway cannot tell whether the store is online.');
    const v = staffView(facts([path('fiber', 'unknown', 60, false)]), clock);
    expect(v.connection).toBe('unknown');
    expect([v.headline, v.advice]).toEqual(['The gateway cannot tell whether the store is online.', 'Ask IT to set up a check of the internet connections.']);
  });

  it('names the store and the moment, in ISO and in local time', () => {
    const v = staffView(facts([path('fiber', 'up')]), clock);
    expect([v.store, v.at, v.updated]).toEqual(['store-0042', '2025-03-14T13:05:09.000Z', '14:05:09']);
  });
});

describe('staff view: each uplink', () => {
  it('says each state in words', () => {
    const v = staffView(facts([path('fiber', 'up'), path('lte', 'degraded'), path('dsl', 'unknown'), path('sat', 'unknown', 5, false)]), clock);
    expect(v.uplinks.map((u) => `${u.name}: ${u.words}`)).toEqual(['fiber: working', 'lte: slow', 'dsl: being checked', 'sat: not checked']);
  });

  it('says since when an uplink is down, in local time, with the day when it was not today', () => {
    const v = staffView(facts([path('fiber', 'down', 3 * 60 + 9), path('lte', 'down', 26 * 3600)]), clock);
    expect(v.uplinks.map((u) => u.words)).toEqual(['down since 14:02', 'down since 13 Mar 12:05']);
    expect(v.uplinks.map((u) => u.since)).toEqual(['2025-03-14T13:02:00.000Z', '2025-03-13T11:05:09.000Z']);
    expect(v.uplinks[0]!.state).toBe('down');
  });
});

describe('staff view: orders', () => {
  it('says nothing waits when the journal owes nothing', () => {
    const v = staffView(facts([path('fiber', 'up')]), clock);
    expect(v.orders).toEqual({ waiting: 0, beingChecked: 0, needAttention: 0, oldestWaitingS: null, oldestWaitingWords: null, words: ['No orders waiting: everything has been sent.'] });
  });

  it('counts waiting orders and says how long the oldest has waited', () => {
    const one = staffView(facts([path('fiber', 'down')], { pending: 1, oldestAgeS: 30.4 }), clock).orders;
    expect([one.waiting, one.oldestWaitingS, one.words]).toEqual([1, 30, ['1 order waiting to be sent, for less than a minute.']]);
    const many = staffView(facts([path('fiber', 'down')], { pending: 12, oldestAgeS: 14 * 60 + 5 }), clock).orders;
    expect([many.oldestWaitingWords, many.words]).toEqual(['14 minutes', ['12 orders waiting to be sent; the oldest has waited 14 minutes.']]);
  });

  it('says which orders are being checked and which need IT, one line each', () => {
    const o = staffView(facts([path('fiber', 'up')], { pending: 2, oldestAgeS: 3 * 3600, unknown: 1, dead: 3 }), clock).orders;
    expect([o.waiting, o.beingChecked, o.needAttention]).toEqual([2, 1, 3]);
    expect(o.words).toEqual([
      '2 orders waiting to be sent; the oldest has waited 3 hours.',
      '1 order being checked: it was sent, but it is not yet known whether it arrived.',
      '3 orders need attention by IT.',
    ]);
    const plural = staffView(facts([path('fiber', 'up')], { unknown: 2, dead: 1 }), clock).orders;
    expect(plural.words).toEqual(['2 orders being checked: they were sent, but it is not yet known whether they arrived.', '1 order needs attention by IT.']);
    // Nothing pending: the journal's oldest age (0) is no age of a waiting order.
    expect(plural.oldestWaitingS).toBeNull();
  });
});

describe('ageWords', () => {
  it.each([
    [0, 'less than a minute'],
    [59, 'less than a minute'],
    [60, '1 minute'],
    [119, '1 minute'],
    [59 * 60 + 59, '59 minutes'],
    [3600, '1 hour'],
    [2 * 3600 + 5 * 60, '2 hours 5 minutes'],
    [3600 + 60, '1 hour 1 minute'],
    [24 * 3600, '1 day'],
    [3 * 86400 + 4 * 3600 + 59 * 60, '3 days 4 hours'],
  ])('%i s is "%s"', (s, words) => {
    expect(ageWords(s)).toBe(words);
  });
});

describe('staff view: a journal that cannot be read', () => {
  it('still tells the store\'s connection, and says the orders cannot be counted instead of failing', () => {
    const v = staffView({ store: 'store-0042', paths: [path('fiber', 'up')], queue: null }, clock);
    expect(v.headline).toBe('The store is online.');
    expect(v.orders).toEqual({ waiting: null, beingChecked: null, needAttention: null, oldestWaitingS: null, oldestWaitingWords: null, words: ['The orders kept in the store cannot be counted right now: tell IT. Keep selling.'] });
  });
});
