import { describe, expect, it } from 'vitest';
import { ByteBudget } from './byte-budget.js';

const MAX_HOLD_MS = 500;

/** A budget that has measured 250 000 bytes/s (2 Mbit/s) over one bulk answer. */
function measured(targetMs = 50) {
  const b = new ByteBudget(targetMs, MAX_HOLD_MS);
  const a = b.started(63_500, 0);
  b.read(a, 1_000, 0);
  b.read(a, 62_500, 250);
  b.ended(a, 250);
  return b;
}

describe('byte budget', () => {
  it('sends one bulk request at a time on a path not measured yet', () => {
    const b = new ByteBudget(50, MAX_HOLD_MS);
    expect(b.bytesPerSecond).toBeUndefined();
    expect(b.admits(0)).toBe(true);
    expect(b.admits(1)).toBe(false);
  });

  it('still sends one at a time while the first answer, its rate known, has not been read whole: its size is not known yet', () => {
    // 80 000 bytes/s × 200 ms: a budget of 16 000 bytes.
    const b = new ByteBudget(200, MAX_HOLD_MS);
    const a = b.started(10_000, 0);
    b.read(a, 1_000, 0);
    b.read(a, 8_000, 100);
    expect(b.bytesPerSecond).toBe(80_000);
    // 1 000 bytes left, well within the budget, but each request granted now would bring an answer of a size not seen yet.
    expect(b.admits(1)).toBe(false);
    b.read(a, 1_000, 112);
    b.ended(a, 112);
    // Now one more answer of that size fits.
    expect(b.admits(1)).toBe(true);
    expect(b.admits(2)).toBe(false);
  });

  it('measures the rate over the time answers were being read, not the gaps between them, nor what came in during a gap', () => {
    const b = new ByteBudget(50, MAX_HOLD_MS);
    for (let i = 0; i < 4; i++) {
      const t = i * 1000;
      const a = b.started(undefined, t);
      // What came with the headers after a gap: no time of its own to count against.
      b.read(a, 9_000, t);
      b.read(a, 25_000, t + 100);
      b.ended(a, t + 100);
    }
    expect(b.bytesPerSecond).toBe(250_000);
  });

  it('counts the first bytes of an answer that starts while another is being read', () => {
    const b = new ByteBudget(50, MAX_HOLD_MS);
    const first = b.started(undefined, 0);
    b.read(first, 1_000, 0);
    b.read(first, 25_000, 100);
    const second = b.started(undefined, 100);
    b.read(second, 25_000, 200);
    b.ended(first, 200);
    b.read(second, 12_500, 250);
    b.ended(second, 250);
    expect(b.bytesPerSecond).toBe(250_000);
  });

  it('grants bulk while the bytes still to come fit in rate × targetMs (12 500 bytes here)', () => {
    const b = measured();
    // One answer of 62 500 bytes in flight, 55 000 read: 7 500 to come.
    const a = b.started(62_500, 1000);
    b.read(a, 55_000, 1220);
    expect(b.outstanding(1)).toBe(7_500);
    expect(b.admits(1)).toBe(true);
    // A second request granted, not answered yet: it counts as an answer of the usual size (the last one's).
    expect(b.outstanding(2)).toBe(7_500 + 63_500);
    expect(b.admits(2)).toBe(false);
    b.read(a, 7_500, 1250);
    b.ended(a, 1250);
    expect(b.admits(1)).toBe(false);
  });

  it('counts an answer without a Content-Length as one of the usual size, and sends nothing behind it until it ends', () => {
    const b = measured();
    const a = b.started(undefined, 1000);
    b.read(a, 60_000, 1240);
    expect(b.outstanding(1)).toBe(3_500);
    // Within the budget, but it may go on for longer than a request pipelined behind it could wait.
    expect(b.admits(1)).toBe(false);
    b.ended(a, 1250);
    // The same bytes left of an answer that said its length: the next may go.
    const declared = b.started(63_500, 1300);
    b.read(declared, 60_000, 1540);
    expect(b.admits(1)).toBe(true);
  });

  it('always grants one bulk request when none is in flight: bulk is slowed, never starved', () => {
    const b = measured(1);
    b.setCritical(true, 0);
    expect(b.admits(0)).toBe(true);
    expect(b.admits(1)).toBe(false);
  });

  it('grants no more bulk and holds reading while critical work waits, and lets go at once after', () => {
    const b = measured();
    const a = b.started(62_500, 1000);
    b.read(a, 60_000, 1240);
    expect(b.admits(1)).toBe(true);
    b.setCritical(true, 1000);
    expect(b.holds(1010)).toBe(true);
    expect(b.admits(1)).toBe(false);
    b.setCritical(false, 1040);
    expect(b.holds(1040)).toBe(false);
    expect(b.admits(1)).toBe(true);
  });

  it("does not count the time reading was held as the link's, nor what came in meanwhile: the rate stays what bulk was read at", () => {
    const b = new ByteBudget(50, MAX_HOLD_MS);
    const a = b.started(undefined, 0);
    b.read(a, 1_000, 0);
    b.read(a, 25_000, 100);
    // Held 40 ms for a checkout: the window's worth that came in meanwhile is read as the hold ends.
    b.setCritical(true, 100);
    b.setCritical(false, 140);
    b.holdEnded(140);
    b.read(a, 3_000, 140);
    b.read(a, 25_000, 240);
    // Held for a slow checkout: the hold ends by itself after MAX_HOLD_MS, critical work still waiting, and bulk is read again.
    b.setCritical(true, 240);
    b.read(a, 500, 300);
    b.holdEnded(240 + MAX_HOLD_MS);
    b.read(a, 3_000, 240 + MAX_HOLD_MS);
    b.read(a, 50_000, 240 + MAX_HOLD_MS + 200);
    b.setCritical(false, 240 + MAX_HOLD_MS + 200);
    b.ended(a, 240 + MAX_HOLD_MS + 200);
    expect(b.bytesPerSecond).toBe(250_000);
  });

  it('holds reading for one spell of critical work at most MAX_HOLD_MS', () => {
    const b = measured();
    b.setCritical(true, 1000);
    expect(b.holdEnds()).toBe(1000 + MAX_HOLD_MS);
    expect(b.holds(1000 + MAX_HOLD_MS - 1)).toBe(true);
    expect(b.holds(1000 + MAX_HOLD_MS)).toBe(false);
    // A second call while it still waits does not restart the spell.
    b.setCritical(true, 1400);
    expect(b.holdEnds()).toBe(1000 + MAX_HOLD_MS);
  });

  it('gives each bulk connection the budget shared by the answers being read as its receive window, none before the path is measured', () => {
    expect(new ByteBudget(50, MAX_HOLD_MS).windowBytes()).toBeUndefined();
    const b = measured();
    // 250 000 bytes/s × 50 ms, with no answer or one being read.
    expect(b.windowBytes()).toBe(12_500);
    const first = b.started(16_384, 1000);
    expect(b.windowBytes()).toBe(12_500);
    const second = b.started(16_384, 1000);
    expect(b.windowBytes()).toBe(6_250);
    b.ended(first, 1000);
    b.ended(second, 1000);
    expect(b.windowBytes()).toBe(12_500);
  });
});
