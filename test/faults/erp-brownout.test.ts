// Fault: the ERP browns out under a store's mixed load — slow past every
// deadline, hanging, 503 and 502 with Retry-After, connections dropped before
// and after the commit (the ambiguous failure), then slow but within the
// deadlines. Nothing acknowledged may be lost, nothing applied twice, and
// every client answered within its route's deadline.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'vitest';
import type { SimBehavior } from '../../src/sim/erp-simulator.js';
import { check, startBed } from './bed.js';

const PHASES: [string, SimBehavior, number][] = [
  ['healthy', { mode: 'ok' }, 2000],
  ['slow 2.5 s, past every deadline', { mode: 'slow', delayMs: 2500 }, 4000],
  ['hanging', { mode: 'hang' }, 3000],
  ['503', { mode: 'fail', status: 503 }, 3000],
  ['502 with Retry-After: 1', { mode: 'fail', status: 502, retryAfterS: 1 }, 3000],
  ['connections dropped after the commit', { mode: 'drop-after-commit' }, 4000],
  ['connections dropped before the commit', { mode: 'drop-before-commit' }, 3000],
  ['slow 300 ms, within the deadlines', { mode: 'slow', delayMs: 300 }, 3000],
];

describe('fault matrix: ERP brownout', () => {
  it('slow, hanging, 5xx, dropped connections: nothing acknowledged lost or doubled, every client answered in time', { timeout: 180_000 }, async () => {
    const bed = await startBed({ name: 'brownout' });
    try {
      const mix = bed.mix();
      mix.start();
      for (const [, behavior, ms] of PHASES) {
        bed.erp.setBehavior(behavior);
        await sleep(ms);
      }
      bed.erp.setBehavior({ mode: 'ok' });
      await mix.stop(30_000);
      await bed.gw.drained(60_000);
      check('ERP brownout', mix, mix.verify(bed.erp), { phases: PHASES.map(([n]) => n).join(', ') });
    } finally {
      await bed.close();
    }
  });
});
