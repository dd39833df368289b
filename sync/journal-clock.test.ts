// The journal's clock: the machine's monotonic clock, the boot it counts
// from, and how a journal's times are carried over to another boot.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { carryOverShift, journalNow, journalOffset, readBootId, systemClock } from './journal-clock.js';
import { TestClock } from '../test/support/journal-clock.js';

describe('the machine clock', () => {
  it('reads one monotonic clock for every process of the boot, not one per process', () => {
    const clock = systemClock('boot');
    const before = clock.now().mono;
    const other = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.hrtime.bigint() / 1000000n))'], { encoding: 'utf8' }));
    const after = clock.now().mono;
    // A per-process clock (performance.now) would put the child's reading near 0, far below ours.
    expect(other).toBeGreaterThanOrEqual(before);
    expect(other).toBeLessThanOrEqual(after);
  });

  it('takes the boot id from the kernel, and counts each process as a boot of its own without one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'storegw-boot-'));
    try {
      writeFileSync(join(dir, 'boot_id'), '53ef96bf-642d-49a5-a085-2dbd89a13128\n');
      expect(readBootId(join(dir, 'boot_id'))).toBe('53ef96bf-642d-49a5-a085-2dbd89a13128');
      const missing = join(dir, 'none');
      expect(readBootId(missing)).toMatch(/^process:/);
      expect(readBootId(missing)).not.toBe(readBootId(missing));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the journal's clock", () => {
  const mark = { bootId: 'boot-1', offset: 500, seen: 90_000 };

  it('keeps its offset on the boot it was set for: times read on as they are', () => {
    expect(journalOffset(mark, 'boot-1', 120_000)).toBe(500);
  });

  it('goes on from the last time it was seen in use on another boot, the time between not counted', () => {
    const offset = journalOffset(mark, 'boot-2', 3_000);
    expect(3_000 + offset).toBe(90_000);
  });

  it('reads the wall clock as it is and the monotonic clock moved by the offset; a wall-clock step moves only the first', () => {
    const clock = new TestClock(1_000);
    expect(journalNow(clock, 500)).toEqual({ wall: 1_000, mono: 1_500 });
    clock.step(-3_600_000);
    expect(journalNow(clock, 500)).toEqual({ wall: 1_000 - 3_600_000, mono: 1_500 });
  });

  it("carries another clock's times over with the latest of them at now, distances kept", () => {
    const shift = carryOverShift(2_000, 50);
    expect([1_000 + shift, 2_000 + shift]).toEqual([-950, 50]);
  });
});
