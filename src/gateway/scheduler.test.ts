import { describe, expect, it } from 'vitest';
import type { ClassName } from '../../edge-config/schema.js';
import { FifoScheduler, SlotScheduler, type BulkGate, type Kind, type SchedulerSettings, type Waiter } from './scheduler.js';

const SETTINGS: SchedulerSettings = {
  maxInFlight: 4,
  reservedCritical: 1,
  priority: { critical: 0, interactive: 1, normal: 2, bulk: 3 },
  degradedShare: { critical: 1, interactive: 1, normal: 0.5, bulk: 0 },
};

/** A scheduler whose grants are recorded in order, by label. */
function harness(settings: Partial<SchedulerSettings> = {}, gate?: BulkGate) {
  const s = new SlotScheduler({ ...SETTINGS, ...settings }, gate);
  const granted: string[] = [];
  const running: ClassName[] = [];
  const add = (label: string, cls: ClassName, kind: Kind = 'live') => {
    const w: Waiter = {
      cls,
      kind,
      grant: () => {
        granted.push(label);
        running.push(cls);
      },
    };
    s.enqueue(w);
    return w;
  };
  /** Finishes the oldest running request, n times. */
  const finish = (n = 1) => {
    for (let i = 0; i < n; i++) s.release(running.shift()!);
  };
  return { s, granted, add, finish };
}

describe('slot scheduler', () => {
  it('grants at once while slots are free', () => {
    const h = harness();
    h.add('b1', 'bulk');
    h.add('c1', 'critical');
    expect(h.granted).toEqual(['b1', 'c1']);
    expect(h.s.inFlight).toBe(2);
  });

  it('keeps the reserved slot for critical: a flood of bulk never takes it', () => {
    const h = harness();
    for (let i = 1; i <= 10; i++) h.add(`b${i}`, 'bulk');
    expect(h.granted).toEqual(['b1', 'b2', 'b3']);
    h.add('c1', 'critical');
    expect(h.granted.at(-1)).toBe('c1');
  });

  it('serves waiting critical first, strictly, when a slot frees', () => {
    const h = harness();
    for (let i = 1; i <= 3; i++) h.add(`b${i}`, 'bulk');
    h.add('c0', 'critical'); // the reserved slot
    h.add('i1', 'interactive');
    h.add('c1', 'critical');
    h.add('c2', 'critical');
    h.finish(3);
    expect(h.granted.slice(4)).toEqual(['c1', 'c2', 'i1']);
  });

  it('shares the unreserved slots by weight (interactive 4 : normal 2 : bulk 1) and never starves bulk', () => {
    const h = harness({ maxInFlight: 2, reservedCritical: 1 });
    h.add('first', 'bulk');
    for (let i = 0; i < 70; i++) {
      h.add(`i${i}`, 'interactive');
      h.add(`n${i}`, 'normal');
      h.add(`b${i}`, 'bulk');
    }
    h.finish(70);
    const window = h.granted.slice(1, 71);
    const count = (p: string) => window.filter((g) => g.startsWith(p)).length;
    expect(Math.abs(count('i') - 40)).toBeLessThanOrEqual(1);
    expect(Math.abs(count('n') - 20)).toBeLessThanOrEqual(1);
    expect(Math.abs(count('b') - 10)).toBeLessThanOrEqual(1);
  });

  it('lets replay of a class go only when no live traffic of it or above waits', () => {
    const h = harness({ maxInFlight: 2, reservedCritical: 1 });
    h.add('busy', 'normal');
    h.add('r-normal', 'normal', 'replay');
    h.add('r-bulk', 'bulk', 'replay');
    h.add('live-bulk', 'bulk');
    h.add('live-interactive', 'interactive');
    // Live interactive first, while normal's replay must wait for it; then
    // normal's replay and live bulk stand level (bulk joined at normal's
    // virtual time, with no credit for being idle) and priority breaks the tie.
    h.finish(4);
    expect(h.granted).toEqual(['busy', 'live-interactive', 'r-normal', 'live-bulk', 'r-bulk']);
  });

  it('holds critical replay behind live critical', () => {
    const h = harness({ maxInFlight: 1, reservedCritical: 1 });
    h.add('busy', 'critical');
    h.add('replay', 'critical', 'replay');
    h.add('live', 'critical');
    h.finish();
    expect(h.granted).toEqual(['busy', 'live']);
    h.finish();
    expect(h.granted).toEqual(['busy', 'live', 'replay']);
  });

  it('on a DEGRADED path: bulk paused, normal limited to its share, critical and interactive as usual', () => {
    const h = harness({ maxInFlight: 4, reservedCritical: 0 });
    h.s.setDegraded(true);
    expect(h.s.admits('bulk')).toBe(false);
    expect(h.s.admits('normal')).toBe(true);
    for (let i = 1; i <= 3; i++) h.add(`n${i}`, 'normal');
    h.add('b1', 'bulk');
    h.add('i1', 'interactive');
    expect(h.granted).toEqual(['n1', 'n2', 'i1']);
    h.s.setDegraded(false);
    expect(h.granted).toEqual(['n1', 'n2', 'i1', 'n3']);
    h.finish();
    expect(h.granted.at(-1)).toBe('b1');
  });

  it('forgets a waiter that gave up', () => {
    const h = harness({ maxInFlight: 1, reservedCritical: 0 });
    h.add('busy', 'normal');
    const gone = h.add('gone', 'normal');
    h.add('next', 'normal');
    expect(h.s.depth('normal')).toBe(2);
    expect(h.s.cancel(gone)).toBe(true);
    expect(h.s.cancel(gone)).toBe(false);
    h.finish();
    expect(h.granted).toEqual(['busy', 'next']);
  });
});

describe('slot scheduler with a bulk gate (the byte budget)', () => {
  /** A gate admitting up to `limit` bulk requests in flight, recording what it is told of critical work. */
  function gate(limit: number) {
    const told: boolean[] = [];
    const g = {
      limit,
      told,
      asked: [] as number[],
      admitsBulk(heldBulk: number) {
        g.asked.push(heldBulk);
        return heldBulk < g.limit && told.at(-1) !== true;
      },
      criticalWaiting: (waiting: boolean) => told.push(waiting),
    };
    return g;
  }

  it('grants bulk only as far as the gate admits, and the rest when woken', () => {
    const g = gate(1);
    const h = harness({}, g);
    h.add('b1', 'bulk');
    h.add('b2', 'bulk');
    h.add('n1', 'normal');
    expect(h.granted).toEqual(['b1', 'n1']);
    g.limit = 2;
    h.s.wake();
    expect(h.granted).toEqual(['b1', 'n1', 'b2']);
  });

  it('tells the gate when critical work starts and stops waiting, before any bulk grant in the same turn', () => {
    const g = gate(10);
    const h = harness({ maxInFlight: 2, reservedCritical: 1 }, g);
    h.add('b1', 'bulk');
    h.add('b2', 'bulk');
    h.add('c1', 'critical');
    expect(g.told).toEqual([true]);
    // b1 finishes while c1 is in flight: the gate, told, keeps b2 waiting.
    h.s.release('bulk');
    expect(h.granted).toEqual(['b1', 'c1']);
    h.s.release('critical');
    expect(g.told).toEqual([true, false]);
    expect(h.granted).toEqual(['b1', 'c1', 'b2']);
  });

  it('counts a queued critical request as waiting, and one that gave up as gone', () => {
    const g = gate(10);
    const h = harness({ maxInFlight: 1, reservedCritical: 0 }, g);
    h.add('b1', 'bulk');
    const c = h.add('c1', 'critical');
    expect(g.told).toEqual([true]);
    h.s.cancel(c);
    expect(g.told).toEqual([true, false]);
  });
});

describe('fifo scheduler (the comparison peer)', () => {
  it('serves in arrival order whatever the class, with no reserved slots', () => {
    const s = new FifoScheduler(1);
    const granted: string[] = [];
    const w = (label: string, cls: ClassName): Waiter => ({ cls, kind: 'live', grant: () => granted.push(label) });
    s.enqueue(w('b1', 'bulk'));
    s.enqueue(w('b2', 'bulk'));
    s.enqueue(w('c1', 'critical'));
    expect(granted).toEqual(['b1']);
    s.release();
    s.release();
    expect(granted).toEqual(['b1', 'b2', 'c1']);
  });
});
