// Fault: the gateway is killed with SIGKILL mid-load and started again on the
// same journal and address. test/integration/crash.test.ts does this 20 times
// with orders alone, each sent once; here it is the whole mix (orders,
// scanner validations, reads, pages), and the devices behave as real ones do:
// an order that got no answer (the process died under it) is sent again with
// the same uuid once the gateway is back, so an order may be journaled, or
// even delivered, by the life that died and acknowledged by the next one.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'vitest';
import type { SimBehavior } from '../../src/sim/erp-simulator.js';
import { check, startBed } from './bed.js';

const KILLS = Number(process.env.STOREGW_FAULT_KILLS ?? 4);
// The ERP in each life: the kill lands during live tries, replays, and the ambiguous drop after a commit.
const BEHAVIORS: SimBehavior[] = [{ mode: 'ok' }, { mode: 'drop-after-commit' }, { mode: 'slow', delayMs: 400 }, { mode: 'fail', status: 503 }];

describe('fault matrix: gateway SIGKILL mid-load', () => {
  it(`${KILLS} SIGKILLs under the mixed load, devices re-sending the same uuid: nothing acknowledged lost or doubled`, { timeout: 180_000 }, async () => {
    const bed = await startBed({ name: 'sigkill' });
    try {
      const mix = bed.mix();
      mix.start();
      let cutOff = 0;
      for (let k = 0; k < KILLS; k++) {
        bed.erp.setBehavior(BEHAVIORS[k % BEHAVIORS.length]!);
        await sleep(1500 + Math.random() * 1500);
        const before = mix.stats.order.connectionErrors + mix.stats.scan.connectionErrors;
        await bed.gw.kill9();
        // Down for a moment: devices get connection refused and keep their writes.
        await sleep(300 + Math.random() * 500);
        await bed.restart();
        cutOff += mix.stats.order.connectionErrors + mix.stats.scan.connectionErrors - before;
      }
      bed.erp.setBehavior({ mode: 'ok' });
      await sleep(2000);
      await mix.stop(30_000);
      await bed.gw.drained(60_000);
      check('gateway SIGKILL', mix, mix.verify(bed.erp), { kills: KILLS, writesCutOffOrRefused: cutOff });
    } finally {
      await bed.close();
    }
  });
});
