// Fault: the configuration is reloaded (SIGHUP) again and again mid-load —
// changed files (replay rate, path limits, an extra route) alternating with
// invalid ones (a misspelt key, a broken YAML) — while the ERP is slow or
// failing, so requests, live tries and replays are in flight at every swap.
// A valid file is taken, an invalid one refused with the running config kept;
// either way nothing acknowledged is lost or doubled and every client is
// answered within its deadline.
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/pos.js';
import { bedYaml, check, mixRoutes, startBed, type BedYaml } from './bed.js';

const RELOADS = Number(process.env.STOREGW_FAULT_RELOADS ?? 12);

/** The same store with other settings: what an operator's edit or a hub push changes. */
function variant(y: BedYaml, n: number): string {
  const base = bedYaml({
    ...y,
    routes: `${mixRoutes()}
  - name: reports-${n}
    match: { method: GET, path: /report/** }
    class: bulk
    mode: passthrough
    timeoutMs: 5000`,
  });
  return base
    .replace('baseUrl: ', `maxInFlight: ${8 + n}\n    baseUrl: `)
    .replace(/ratePerSec: \d+/, `ratePerSec: ${150 + 10 * n}`);
}

const INVALID = [
  (y: BedYaml) => bedYaml(y).replace('routes:', 'routez:'),
  (y: BedYaml) => bedYaml(y).replace('mode: cache', 'mode: cache\n   timeoutMs: [oops'),
  (y: BedYaml) => bedYaml(y).replace('class: critical', 'class: urgent'),
];

describe('fault matrix: config reload mid-load', () => {
  it(`${RELOADS} SIGHUPs, valid and invalid files alternating, under load and a slow/failing ERP`, { timeout: 180_000 }, async () => {
    let y: BedYaml | undefined;
    const bed = await startBed({ name: 'reload', yaml: (o) => ((y = o), bedYaml(o)) });
    try {
      const mix = bed.mix();
      mix.start();
      let version = (await bed.gw.status()).configVersion;
      let taken = 0;
      let refused = 0;
      for (let i = 0; i < RELOADS; i++) {
        bed.erp.setBehavior(i % 3 === 0 ? { mode: 'slow', delayMs: 400 } : i % 3 === 1 ? { mode: 'fail', status: 503 } : { mode: 'ok' });
        await sleep(700 + Math.random() * 600);
        const valid = i % 2 === 0;
        writeFileSync(bed.config, valid ? variant(y!, i) : INVALID[(i >> 1) % INVALID.length]!(y!));
        bed.gw.signal('SIGHUP');
        if (valid) {
          await eventually(async () => expect((await bed.gw.status()).configVersion).not.toBe(version), 5000, 50);
          version = (await bed.gw.status()).configVersion;
          taken++;
        } else {
          await eventually(() => expect(bed.gw.logs().split('configuration reload refused').length - 1).toBe(refused + 1), 5000, 50);
          expect((await bed.gw.status()).configVersion).toBe(version);
          refused++;
        }
      }
      bed.erp.setBehavior({ mode: 'ok' });
      await sleep(1000);
      await mix.stop(30_000);
      await bed.gw.drained(60_000);
      expect(bed.gw.alive).toBe(true);
      check('config reload', mix, mix.verify(bed.erp), { reloadsTaken: taken, reloadsRefused: refused });
    } finally {
      await bed.close();
    }
  });
});
