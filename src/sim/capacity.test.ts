import { describe, expect, it } from 'vitest';
import { CapacityGate, parseCapacity, type Slot } from './capacity.js';

/** Which of `slots` have been served so far. */
async function servedOf(slots: Slot[]): Promise<boolean[]> {
  const flags = slots.map(() => false);
  slots.forEach((s, i) => void s.served.then(() => (flags[i] = true)));
  await new Promise((r) => setImmediate(r));
  return flags;
}

describe('parseCapacity', () => {
  it('accepts a limit or null', () => {
    expect(parseCapacity({ concurrency: 2, serviceMs: 50 })).toEqual({ capacity: { concurrency: 2, serviceMs: 50 } });
    expect(parseCapacity({ concurrency: 0, serviceMs: 0 })).toEqual({ capacity: { concurrency: 0, serviceMs: 0 } });
    expect(parseCapacity(null)).toEqual({ capacity: null });
  });

  it.each([undefined, 3, [], {}, { concurrency: 1 }, { concurrency: -1, serviceMs: 0 }, { concurrency: 1.5, serviceMs: 0 }, { concurrency: 1, serviceMs: 0, extra: 1 }])(
    'refuses %j',
    (input) => {
      expect(parseCapacity(input)).toHaveProperty('error');
    },
  );
});

describe('CapacityGate', () => {
  it('admits everything while unlimited, counting what is in service', async () => {
    const gate = new CapacityGate();
    const slots = [gate.enter(), gate.enter(), gate.enter()];
    expect(await servedOf(slots)).toEqual([true, true, true]);
    expect(gate.load()).toEqual({ inService: 3, queued: 0, peakInService: 3 });
    for (const s of slots) s.leave();
    expect(gate.load()).toMatchObject({ inService: 0, peakInService: 3 });
  });

  it('admits waiting requests in arrival order as slots free up', async () => {
    const gate = new CapacityGate();
    gate.limit = { concurrency: 1, serviceMs: 0 };
    const [a, b, c] = [gate.enter(), gate.enter(), gate.enter()];
    expect(await servedOf([a!, b!, c!])).toEqual([true, false, false]);
    expect(gate.load()).toEqual({ inService: 1, queued: 2, peakInService: 1 });
    a!.leave();
    a!.leave(); // a second leave must not free a second slot
    expect(await servedOf([b!, c!])).toEqual([true, false]);
    b!.leave();
    expect(await servedOf([c!])).toEqual([true]);
    expect(gate.load()).toEqual({ inService: 1, queued: 0, peakInService: 1 });
  });

  it('lets a waiting request give up its place', async () => {
    const gate = new CapacityGate();
    gate.limit = { concurrency: 1, serviceMs: 0 };
    const [a, b, c] = [gate.enter(), gate.enter(), gate.enter()];
    b!.leave();
    expect(gate.load().queued).toBe(1);
    a!.leave();
    expect(await servedOf([b!, c!])).toEqual([false, true]);
  });

  it('holds everything at concurrency 0 and admits at once when the limit is raised or removed', async () => {
    const gate = new CapacityGate();
    gate.limit = { concurrency: 0, serviceMs: 0 };
    const slots = [gate.enter(), gate.enter(), gate.enter()];
    expect(await servedOf(slots)).toEqual([false, false, false]);
    gate.limit = { concurrency: 2, serviceMs: 0 };
    expect(await servedOf(slots)).toEqual([true, true, false]);
    gate.limit = null;
    expect(await servedOf(slots)).toEqual([true, true, true]);
  });

  it('restarts the peak from what is in service now', () => {
    const gate = new CapacityGate();
    const [a] = [gate.enter(), gate.enter()];
    a!.leave();
    gate.resetPeak();
    expect(gate.load()).toEqual({ inService: 1, queued: 0, peakInService: 1 });
  });
});
