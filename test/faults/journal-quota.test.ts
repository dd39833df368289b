// Fault: the journal's quota (buffer.maxBytes) is reached while the ERP is
// down under the mixed load. Buffered writes past it get 507 buffer_full with
// nothing stored; the devices send them again (a 5xx), and they are taken once
// the backlog drains and frees room. Nothing acknowledged is lost, and what
// was only ever refused is not delivered behind the devices' backs.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/pos.js';
import { check, startBed } from './bed.js';

describe('fault matrix: journal quota reached', () => {
  it('507 buffer_full past the quota: refused writes are not acknowledged, nothing acknowledged is lost', { timeout: 180_000 }, async () => {
    const bed = await startBed({ name: 'quota', buffer: '{ path: ./journal.db, maxBytes: 48KiB }' });
    try {
      const mix = bed.mix();
      bed.erp.setBehavior({ mode: 'fail', status: 503 });
      mix.start();
      const full = () => (mix.stats.order.byStatus['507'] ?? 0) + (mix.stats.scan.byStatus['507'] ?? 0);
      await eventually(() => expect(full()).toBeGreaterThan(20), 30_000, 100);
      const q = (await bed.gw.status()).queue;
      expect(q.bytes).toBeLessThanOrEqual(q.maxBytes);
      // The ERP comes back: the backlog drains, room frees, the devices' retries are taken.
      bed.erp.setBehavior({ mode: 'ok' });
      await sleep(4000);
      // Down again until the quota is reached again, then the devices give up what they still hold.
      bed.erp.setBehavior({ mode: 'fail', status: 503 });
      const before = full();
      await eventually(() => expect(full()).toBeGreaterThan(before + 20), 30_000, 100);
      await mix.stop(500);
      const givenUp = mix.unacked().filter((w) => w.refusedOnly && w.statuses.length > 0).length;
      bed.erp.setBehavior({ mode: 'ok' });
      await bed.gw.drained(60_000);
      expect(givenUp).toBeGreaterThan(0);
      check('journal quota reached', mix, mix.verify(bed.erp), { refused507: full(), refusedOnlyNeverAcked: givenUp, quotaBytes: q.maxBytes });
    } finally {
      await bed.close();
    }
  });
});
