// Fault: the gateway's wall clock jumps mid-load, as an NTP step does on a
// mini-PC whose clock ran wrong. The gateway child is started with a preload
// (../support/clock-shift.ts) that shifts Date.now() / new Date() by an offset
// the test writes to a file; monotonic time (performance.now, timers) is
// untouched, as with a real step. Entries are waiting for their retry (the ERP
// failing) when the clock jumps, so the journal's retry times, the drain-rate
// bucket and the live-try cool-off are caught on the wrong side of the jump.
//
// Two bugs this matrix found, once pinned with it.fails, are fixed and kept
// as cases: a backward jump stalled delivery for the length of the jump, and a
// forward jump past buffer.maxAgeHours turned pending orders into dead letters.
// The journal judges waits and ages on its monotonic clock (sync/journal-clock.ts),
// which the preload leaves alone as a real step does: CLOCK_MONOTONIC, read by
// process.hrtime, is not Date.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/gateway.js';
import { check, startBed, type Bed } from './bed.js';

const PRELOAD = fileURLToPath(new URL('../../dist/test/support/clock-shift.js', import.meta.url));
const HOUR = 3_600_000;

/** A bed whose gateway runs under the clock-shift preload (every life of it), its offset file in the bed's folder. */
async function clockBed(name: string): Promise<{ bed: Bed; shift: (ms: number) => void; close: () => Promise<void> }> {
  const dir = tempDir(`storegw-fault-${name}-`);
  const file = join(dir, 'clock-shift');
  writeFileSync(file, '0');
  const bed = await startBed({ name, dir, process: { nodeArgs: ['--import', PRELOAD], env: { STOREGW_CLOCK_SHIFT_FILE: file } } });
  return {
    bed,
    // The preload re-reads the file every 50 ms.
    shift: (ms) => writeFileSync(file, String(ms)),
    close: async () => {
      await bed.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('fault matrix: wall clock jumps', () => {
  it('back 1 h (held 6 s), then corrected, then forward 1 h, under load with retries waiting: nothing lost or doubled, every client answered in time', { timeout: 180_000 }, async () => {
    const { bed, shift, close } = await clockBed('clock');
    try {
      const mix = bed.mix();
      mix.start();
      bed.erp.setBehavior({ mode: 'fail', status: 503 });
      await sleep(3000);
      shift(-HOUR);
      await sleep(500);
      bed.erp.setBehavior({ mode: 'ok' });
      const committed0 = bed.erp.commits().length;
      await sleep(6000);
      // What reached the ERP in the 6 s after the backward jump, the ERP healthy (near 0 while retry times were wall-clock instants).
      const committedWhileBehind = bed.erp.commits().length - committed0;
      const pendingWhileBehind = (await bed.gw.status()).queue.pending;
      shift(0);
      let t0 = performance.now();
      await bed.gw.drained(30_000);
      const drainMsAfterCorrection = Math.round(performance.now() - t0);
      bed.erp.setBehavior({ mode: 'fail', status: 503 });
      await sleep(3000);
      shift(HOUR);
      await sleep(500);
      bed.erp.setBehavior({ mode: 'ok' });
      t0 = performance.now();
      await bed.gw.drained(30_000);
      const drainMsAfterForwardJump = Math.round(performance.now() - t0);
      await sleep(1000);
      await mix.stop(30_000);
      await bed.gw.drained(30_000);
      check('clock jump', mix, mix.verify(bed.erp), { committedWhileBehind, pendingWhileBehind, drainMsAfterCorrection, drainMsAfterForwardJump });
    } finally {
      await close();
    }
  });

  // Once the ERP is healthy the backlog drains in seconds whatever the wall clock did. It waited out the
  // jump while the journal's retry times were wall-clock instants (a lane's head waited, and its lane
  // behind it); shifting pending entries by the detected jump was tried and dropped, as entries written
  // between the jump and its detection cannot be told apart by time alone on a backward jump.
  it('after a 1 h backward jump the backlog drains within 15 s once the ERP is healthy, the clock still behind', { timeout: 90_000 }, async () => {
    const { bed, shift, close } = await clockBed('clock-back');
    try {
      const mix = bed.mix({ pos: 3, scanners: 1, catalogPerSec: 0, pagesPerSec: 0 });
      mix.start();
      bed.erp.setBehavior({ mode: 'fail', status: 503 });
      await sleep(2000);
      shift(-HOUR);
      await sleep(500);
      bed.erp.setBehavior({ mode: 'ok' });
      await mix.stop(500);
      await bed.gw.drained(15_000);
      expect(mix.verify(bed.erp).lost).toEqual([]);
      expect(mix.verify(bed.erp).duplicated).toEqual([]);
    } finally {
      await close();
    }
  });

  // Orders pending for seconds are delivered, whatever the wall clock says. Housekeeping aged entries by
  // the wall clock (created_at vs Date.now()), so a forward step larger than buffer.maxAgeHours (a mini-PC
  // booted with its RTC in the past, then NTP) made every pending entry an "expired" dead letter: not
  // delivered, and the POS re-sending it got 409 dead_letter. A restart on the same boot reads on in the
  // journal's monotonic times.
  it('a forward jump past buffer.maxAgeHours (168 h) does not turn pending orders into dead letters', { timeout: 90_000 }, async () => {
    const { bed, shift, close } = await clockBed('clock-fwd');
    try {
      const mix = bed.mix({ pos: 3, scanners: 1, catalogPerSec: 0, pagesPerSec: 0 });
      bed.erp.setBehavior({ mode: 'fail', status: 503 });
      mix.start();
      await sleep(2000);
      await mix.stop(500);
      expect((await bed.gw.status()).queue.pending).toBeGreaterThan(0);
      // The clock steps 200 h forward; housekeeping runs at start and every 60 s: a restart shows it at once.
      shift(200 * HOUR);
      await bed.gw.stop();
      await bed.restart();
      bed.erp.setBehavior({ mode: 'ok' });
      // drained() fails on any dead letter.
      await bed.gw.drained(15_000);
      expect(mix.verify(bed.erp).lost).toEqual([]);
    } finally {
      await close();
    }
  });
});
