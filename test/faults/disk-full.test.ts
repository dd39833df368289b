// Fault: the disk under the journal fills up (a real one: a small tmpfs,
// mounted for the test, hence root), filled by something else, as logs or a
// stray download fill a store's mini-PC, while the ERP is down under the mixed
// load. Buffered writes get 507 buffer_full with nothing stored; reads and
// pages keep being answered; once room is made (the filler removed) writes
// are taken again and the backlog drains. Nothing acknowledged is lost.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/gateway.js';
import { eventually } from '../support/pos.js';
import { check, startBed } from './bed.js';

const isRoot = process.getuid?.() === 0;

/** Writes a file until the filesystem says no more (ENOSPC). */
function fill(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(16 * 1024, 0x78);
  let bytes = 0;
  try {
    for (;;) bytes += writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    // The last partial page too.
    for (let n = 4096; n >= 1; n = Math.floor(n / 2)) {
      try {
        for (;;) bytes += writeSync(fd, chunk.subarray(0, n));
      } catch {
        /* ENOSPC at this size */
      }
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

describe('fault matrix: disk full under the journal', () => {
  it.skipIf(!isRoot)('507 on a full disk (a 16 MiB tmpfs filled by another file; needs root), nothing acknowledged lost, serving goes on, recovers when room is made', { timeout: 180_000 }, async () => {
    const dir = tempDir('storegw-fault-diskfull-');
    const small = join(dir, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', small]);
    try {
      const bed = await startBed({ name: 'diskfull', dir, buffer: `{ path: ${join(small, 'journal.db')}, maxBytes: 1GiB }` });
      try {
        const mix = bed.mix({ orderNoteBytes: 1000 });
        bed.erp.setBehavior({ mode: 'fail', status: 503 });
        mix.start();
        await sleep(3000);
        const filler = join(small, 'filler');
        const filled = fill(filler);
        const full = () => (mix.stats.order.byStatus['507'] ?? 0) + (mix.stats.scan.byStatus['507'] ?? 0);
        await eventually(() => expect(full()).toBeGreaterThan(20), 60_000, 100);
        expect(bed.gw.logs()).toContain('disk full');
        const pagesBefore = mix.stats.page.answered;
        // While the disk is full the replay engine cannot record an attempt: how often it then calls the
        // still-failing ERP is measured (reads and pages count too; with room, backoff keeps it to a few per second).
        const received0 = bed.erp.received();
        await sleep(3000);
        const erpRequestsPerSecWhileFull = Math.round((bed.erp.received() - received0) / 3);
        // Serving goes on while the disk is full: pages and reads are answered.
        expect(mix.stats.page.answered).toBeGreaterThan(pagesBefore);
        // The ERP comes back while the disk is still full.
        bed.erp.setBehavior({ mode: 'ok' });
        await sleep(3000);
        // Room is made: writes are taken again, the backlog drains.
        rmSync(filler);
        const acked = () => [...mix.writes.values()].filter((w) => w.acked).length;
        const ackedAtRelief = acked();
        await eventually(() => expect(acked()).toBeGreaterThan(ackedAtRelief + 20), 30_000, 100);
        await mix.stop(30_000);
        await bed.gw.drained(60_000);
        check('disk full', mix, mix.verify(bed.erp), { refused507: full(), fillerBytes: filled, erpRequestsPerSecWhileFull });
      } finally {
        await bed.close();
      }
    } finally {
      spawnSync('umount', [small]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
