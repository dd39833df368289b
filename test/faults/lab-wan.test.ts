// Faults on the WAN, on real WireGuard tunnels (the network lab, test/lab):
// the gateway runs in the lab's store namespace with a fiber and a metered LTE
// uplink (LTE carries critical and interactive only), nginx in the region in
// front of the ERP simulator, and the mixed load comes over the store LAN.
// 1. WAN flapping: fiber and LTE cut and restored alternately every 2–3 s.
// 2. Both uplinks down for STOREGW_FAULT_OUTAGE_S seconds (default 20 here;
//    the soak's default is 60), then back.
// In each: nothing acknowledged lost or doubled, every client answered within
// its route's deadline, the backlog drained once the links are back.
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { LoadMix } from '../support/load-mix.js';
import { eventually } from '../support/pos.js';
import { describeLab } from '../lab/describe-lab.js';
import { Lab } from '../lab/topology.js';
import { check, DEADLINES, deviceToken, deviceTokensYaml } from './bed.js';
import { labMixYaml } from './lab-bed.js';

const OUTAGE_S = Number(process.env.STOREGW_FAULT_OUTAGE_S ?? 20);
const FLAP_S = Number(process.env.STOREGW_FAULT_FLAP_S ?? 20);

let lab: Lab;
let erp: ErpSimulator;
let gw: GatewayProcess;

const states = async () => Object.fromEntries((await gw.status()).paths.map((p) => [p.name, p.state]));

function labMix(name: string): LoadMix {
  return new LoadMix({ target: () => gw.url, prefix: `${name}-${Date.now().toString(36)}`, deadlines: DEADLINES, deviceToken });
}

describeLab('fault matrix: the WAN (network lab, real WireGuard tunnels)', () => {
  beforeAll(async () => {
    lab = await Lab.create();
    erp = await startErpSimulator({ host: lab.mgmt.hostAddress, port: 0 });
    await lab.startNginx(erp.url);
    const dir = join(lab.dir, 'gateway');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'devices.yaml'), deviceTokensYaml(), { mode: 0o600 });
    writeFileSync(join(dir, 'gateway.yaml'), labMixYaml(lab));
    gw = await GatewayProcess.start({ config: join(dir, 'gateway.yaml'), cwd: dir, spawner: (cmd, args, opts) => lab.spawn('store', cmd, args, opts) });
    await eventually(async () => expect(await states()).toEqual({ fiber: 'up', lte: 'up' }), 20_000, 100);
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await lab?.destroy();
    await erp?.close();
  });

  it(`WAN flapping for ${FLAP_S} s: fiber and LTE cut and restored alternately every 2–3 s`, { timeout: 180_000 }, async () => {
    const mix = labMix('flap');
    mix.start();
    await sleep(2000);
    const until = Date.now() + FLAP_S * 1000;
    let cuts = 0;
    let down: 'fiber' | 'lte' = 'fiber';
    await lab.cut(down);
    while (Date.now() < until) {
      await sleep(2000 + Math.random() * 1000);
      const next: 'fiber' | 'lte' = down === 'fiber' ? 'lte' : 'fiber';
      await lab.restore(down);
      // Now and then both are up for a moment between cuts.
      if (Math.random() < 0.3) await sleep(500 + Math.random() * 1000);
      await lab.cut(next);
      down = next;
      cuts++;
    }
    await lab.restore(down);
    await eventually(async () => expect(await states()).toEqual({ fiber: 'up', lte: 'up' }), 30_000, 100);
    await mix.stop(30_000);
    await gw.drained(60_000);
    const flaps = (gw.logs().match(/"path (fiber|lte) is DOWN"/g) ?? []).length;
    check('WAN flapping', mix, mix.verify(erp), { flapSeconds: FLAP_S, cuts: cuts + 1, downVerdicts: flaps });
  });

  it(`both uplinks down for ${OUTAGE_S} s, then back: buffered, stale or refused in time during; drained after`, { timeout: 60_000 + OUTAGE_S * 3000 }, async () => {
    const mix = labMix('outage');
    mix.start();
    await sleep(3000);
    await lab.cut('fiber');
    await lab.cut('lte');
    const cutAt = Date.now();
    await eventually(async () => expect(await states()).toEqual({ fiber: 'down', lte: 'down' }), 15_000, 50);
    const detectMs = Date.now() - cutAt;
    // Counted from DOWN on: nothing can reach the ERP then.
    const committedAtCut = erp.commits().length;
    await sleep(Math.max(0, OUTAGE_S * 1000 - detectMs));
    const pendingAtEnd = (await gw.status()).queue.pending;
    const committedDuringOutage = erp.commits().length - committedAtCut;
    await lab.restore('lte');
    await lab.restore('fiber');
    const back = performance.now();
    await eventually(async () => expect(await states()).toEqual({ fiber: 'up', lte: 'up' }), 30_000, 100);
    await gw.drained(60_000);
    const drainMs = Math.round(performance.now() - back);
    await mix.stop(30_000);
    await gw.drained(60_000);
    expect(pendingAtEnd).toBeGreaterThan(0);
    expect(mix.stats.catalog.byStatus['200'] ?? 0).toBeGreaterThan(0);
    check('both uplinks down', mix, mix.verify(erp), { outageSeconds: OUTAGE_S, downDetectedMs: detectMs, pendingAtRestore: pendingAtEnd, drainMsAfterRestore: drainMs, committedDuringOutage });
  });
});
