// The soak: `npm run soak -- --minutes N` runs the store's mixed load
// (test/support/load-mix.ts) against a real `storegw gateway` process for N
// minutes while random faults come and go — ERP brownouts (slow, hanging,
// 5xx, connections dropped before or after the commit), the gateway killed
// with SIGKILL and started again, configuration reloads (valid and invalid)
// and, as root where the network lab can run, WAN cuts on real WireGuard
// tunnels (fiber, LTE, and both for --outage-s, default 60 s). Then it
// drains and prints the counts (acknowledged, delivered, lost, duplicated),
// p99 per class and the gateway's memory over time, and exits 1 on any loss, any
// duplicate, or memory growth (see memory.ts: the gateway runs with --inspect
// so that its heap can be read after a full collection).
//
//   npm run soak -- --minutes 3                 # what CI runs (test/soak/soak.test.ts)
//   npm run soak -- --minutes 60 --outage-s 60  # a long one
//   options: --no-lab (loopback even as root), --json FILE (the report as JSON)
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { startErpSimulator, type ErpSimulator, type SimBehavior } from '../../src/sim/erp-simulator.js';
import { bedYaml, DEADLINES, deviceToken, deviceTokensYaml } from '../faults/bed.js';
import { labMixYaml } from '../faults/lab-bed.js';
import { Lab, labSkipReason } from '../lab/topology.js';
import { tempDir } from '../support/gateway.js';
import { freePort, GatewayProcess, type GatewayProcessOptions } from '../support/gateway-process.js';
import { LOAD_CLASSES, LoadMix, percentile, type LoadVerdict } from '../support/load-mix.js';
import { heapAfterFullGc } from './heap-after-gc.js';
import { heapFromMetrics, memoryVerdict, RSS_BUDGET_MIB, type CollectedHeap, type MemorySample } from './memory.js';

const toMiB = (kib: number | undefined) => (kib === undefined ? undefined : Math.round(kib / 102.4) / 10);

interface Options {
  minutes: number;
  outageS: number;
  lab: boolean;
  json: string | undefined;
  log: (s: string) => void;
}

const BROWNOUTS: [string, SimBehavior][] = [
  ['ERP slow 2.5 s', { mode: 'slow', delayMs: 2500 }],
  ['ERP hanging', { mode: 'hang' }],
  ['ERP 503', { mode: 'fail', status: 503 }],
  ['ERP 502 + Retry-After', { mode: 'fail', status: 502, retryAfterS: 1 }],
  ['ERP drops after commit', { mode: 'drop-after-commit' }],
  ['ERP drops before commit', { mode: 'drop-before-commit' }],
  ['ERP slow 300 ms', { mode: 'slow', delayMs: 300 }],
];

const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** Another valid config (replay rate, path limits), or an invalid one. */
function reloadVariant(base: string, valid: boolean): string {
  if (!valid) return pick([base.replace('routes:', 'routez:'), base.replace('class: critical', 'class: urgent'), base.replace('mode: cache', 'mode: cache\n    timeoutMs: [oops')]);
  return base.replace(/ratePerSec: \d+/, `ratePerSec: ${Math.round(rand(100, 300))}`).replace(/(\n {4}baseUrl: )/g, `\n    maxInFlight: ${Math.round(rand(8, 48))}$1`);
}

export async function soak(o: Options): Promise<{ ok: boolean; report: Record<string, unknown> }> {
  const started = performance.now();
  const elapsedS = () => (performance.now() - started) / 1000;
  const endAt = o.minutes * 60;
  const labReason = o.lab ? labSkipReason() : 'loopback chosen (--no-lab)';
  const useLab = labReason === undefined;
  o.log(`soak: ${o.minutes} min, ${useLab ? 'network lab (real WireGuard tunnels)' : `loopback (${labReason})`}`);

  let lab: Lab | undefined;
  let erp: ErpSimulator;
  let dir: string;
  let yaml: string;
  let launch: Partial<GatewayProcessOptions> = {};
  let target: string;
  let admin: string;
  let inspector: string;
  if (useLab) {
    lab = await Lab.create();
    erp = await startErpSimulator({ host: lab.mgmt.hostAddress, port: 0 });
    await lab.startNginx(erp.url);
    dir = join(lab.dir, 'gateway');
    mkdirSync(dir, { recursive: true });
    yaml = labMixYaml(lab);
    const l = lab;
    launch = { spawner: (cmd, args, opts) => l.spawn('store', cmd, args, opts) };
    target = `http://${lab.lan.storeAddress}:8080`;
    admin = `http://${lab.lan.storeAddress}:9080`;
    inspector = `${lab.lan.storeAddress}:9229`;
  } else {
    erp = await startErpSimulator();
    dir = tempDir('storegw-soak-');
    const [port, adminPort] = [await freePort(), await freePort()];
    yaml = bedYaml({ erpUrl: erp.url, port, adminPort, storeId: 'store-soak' });
    target = `http://127.0.0.1:${port}`;
    admin = `http://127.0.0.1:${adminPort}`;
    inspector = `127.0.0.1:${await freePort()}`;
  }
  const config = join(dir, 'gateway.yaml');
  writeFileSync(join(dir, 'devices.yaml'), deviceTokensYaml(), { mode: 0o600 });
  writeFileSync(config, yaml);
  const start = () => GatewayProcess.start({ config, cwd: dir, keepLines: 2000, nodeArgs: [`--inspect=${inspector}`], ...launch });
  let gw = await start();
  let life = 0;
  let lifeStartedS = 0;
  const collected: CollectedHeap = { startKiB: 'not taken', endKiB: 'not taken' };
  const collectHeap = () => heapAfterFullGc(inspector).catch((e: Error) => e.message);

  // RSS from /proc, the JS heap from the gateway's own metrics (a reading the gateway is too busy to answer within a second is skipped).
  const memory: MemorySample[] = [];
  const sampler = setInterval(() => {
    const [t, sampledLife, rssKiB] = [Math.round(elapsedS() * 10) / 10, life, gw.rssKiB()];
    if (rssKiB === undefined) return;
    void request(`${admin}/metrics`, { headersTimeout: 1000, bodyTimeout: 1000 })
      .then((res) => res.body.text())
      .then((text) => heapFromMetrics(text))
      .catch(() => undefined)
      .then((heap) => memory.push({ t, life: sampledLife, rssKiB, ...heap }));
  }, 2000);

  const mix = new LoadMix({ target: () => target, prefix: `soak-${Date.now().toString(36)}`, deadlines: DEADLINES, deviceToken });
  const faults: Record<string, number> = {};
  const count = (name: string) => (faults[name] = (faults[name] ?? 0) + 1);
  // Kills only in the first 40 %: the rest is one life, long enough to judge RSS on.
  const killsUntil = endAt * 0.4;
  // Faults stop 15 s before the end: the last seconds settle, then the drain.
  const faultsUntil = endAt - 15;
  // The long outage of both uplinks: once, in the kill-free part, at most a third of the run.
  const outageS = Math.min(o.outageS, Math.floor(endAt / 3));
  let outageAt = useLab && o.minutes >= 2 ? rand(killsUntil, Math.max(killsUntil, faultsUntil - outageS - 5)) : Infinity;
  let failure: string | undefined;

  mix.start();
  try {
    await sleep(3000);
    while (elapsedS() < faultsUntil) {
      const now = elapsedS();
      // The last life's first reading: under load, between faults, 10 s after its start.
      if (collected.startKiB === 'not taken' && now >= killsUntil && now - lifeStartedS >= 10) {
        collected.startKiB = await collectHeap();
        if (typeof collected.startKiB === 'number') o.log(`  ${now.toFixed(0)}s: JS heap in use after a full collection: ${toMiB(collected.startKiB)} MiB`);
      } else if (useLab && now >= outageAt) {
        outageAt = Infinity;
        count(`both uplinks down ${outageS} s`);
        o.log(`  ${now.toFixed(0)}s: both uplinks down for ${outageS} s`);
        await lab!.cut('fiber');
        await lab!.cut('lte');
        await sleep(outageS * 1000);
        await lab!.restore('lte');
        await lab!.restore('fiber');
      } else {
        const choices = ['brownout', 'brownout', 'reload', ...(now < killsUntil ? ['kill'] : []), ...(useLab ? ['cut', 'cut'] : [])];
        switch (pick(choices)) {
          case 'brownout': {
            const [name, b] = pick(BROWNOUTS);
            count(name);
            erp.setBehavior(b);
            await sleep(rand(3000, 8000));
            erp.setBehavior({ mode: 'ok' });
            break;
          }
          case 'reload': {
            const valid = Math.random() < 0.6;
            count(valid ? 'reload (valid)' : 'reload (invalid)');
            writeFileSync(config, reloadVariant(yaml, valid));
            gw.signal('SIGHUP');
            await sleep(500);
            // The next reload or restart starts from the known-good file again.
            writeFileSync(config, yaml);
            break;
          }
          case 'kill': {
            count('gateway SIGKILL + restart');
            await gw.kill9();
            await sleep(rand(300, 1500));
            life++;
            gw = await start();
            lifeStartedS = elapsedS();
            break;
          }
          case 'cut': {
            const which = pick(['fiber', 'lte']);
            count(`${which} cut`);
            await lab!.cut(which);
            await sleep(rand(2000, 8000));
            await lab!.restore(which);
            break;
          }
        }
      }
      if (!gw.alive) throw new Error(`the gateway died by itself:\n${gw.logs().split('\n').slice(-30).join('\n')}`);
      await sleep(rand(1000, 5000));
    }
    erp.setBehavior({ mode: 'ok' });
    const left = endAt - elapsedS();
    if (left > 0) await sleep(left * 1000);
    await mix.stop(60_000);
    await gw.drained(120_000);
    collected.endKiB = await collectHeap();
  } catch (e) {
    failure = (e as Error).message;
  } finally {
    clearInterval(sampler);
  }

  const v: LoadVerdict = mix.verify(erp);
  const misses = mix.deadlineMisses();
  const verdict = memoryVerdict(memory, collected);
  const classes = Object.fromEntries(
    LOAD_CLASSES.map((c) => {
      const s = mix.stats[c];
      return [c, { sent: s.sent, answered: s.answered, byStatus: s.byStatus, connectionErrors: s.connectionErrors, late: s.late, unanswered: s.unanswered, p50Ms: Math.round(percentile(s.latencies, 50)), p99Ms: Math.round(percentile(s.latencies, 99)), maxMs: Math.round(s.latencies.reduce((a, b) => Math.max(a, b), 0)) }];
    }),
  );
  const report = {
    minutes: o.minutes,
    mode: useLab ? 'lab' : 'loopback',
    seconds: Math.round(elapsedS()),
    faults,
    acked: v.acked,
    delivered: v.committed,
    lost: v.lost.length,
    duplicated: v.duplicated.length,
    unackedGivenUp: mix.unacked().length,
    committedUnacked: v.committedUnacked,
    erpDedupHits: v.erpDedupHits,
    deadLetters: v.deadLetters,
    tills: v.tills,
    deadlineMisses: { late: misses.late, unanswered: misses.unanswered, samples: misses.samples.slice(0, 5) },
    classes,
    memory: verdict,
    memoryOverTime: memory
      .filter((_, i) => i % Math.max(1, Math.floor(memory.length / 12)) === 0 || i === memory.length - 1)
      .map((s) => ({ t: s.t, life: s.life, rssMiB: toMiB(s.rssKiB), heapUsedMiB: toMiB(s.heapUsedKiB), heapTotalMiB: toMiB(s.heapTotalKiB) })),
    failure,
    lostSample: v.lost.slice(0, 10),
    duplicatedSample: v.duplicated.slice(0, 10),
  };

  o.log(`faults: ${Object.entries(faults).map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}`);
  o.log(`orders: ${v.acked.order} acknowledged, ${v.committed.order} delivered; scans: ${v.acked.scan} acknowledged, ${v.committed.scan} delivered`);
  o.log(`lost ${v.lost.length}, duplicated ${v.duplicated.length}, dead letters ${v.deadLetters}, retries absorbed by the ERP's key check ${v.erpDedupHits}, unacknowledged when the devices gave up ${mix.unacked().length}`);
  o.log(`Odoo 18 tills: ${v.tills.paid} paid, ${v.tills.atErp} at the ERP, ${v.tills.lost} lost, ${v.tills.duplicated} duplicated, ${v.tills.reverted} reverted to unpaid, ${v.tills.pending} still held`);
  o.log(`deadline misses: ${misses.late} late, ${misses.unanswered} unanswered${misses.samples.length ? ` (${misses.samples.slice(0, 3).join('; ')})` : ''}`);
  o.log('class    sent     answered  p50 ms  p99 ms  max ms');
  for (const c of LOAD_CLASSES) {
    const s = classes[c]!;
    o.log(`${c.padEnd(8)} ${String(s.sent).padStart(7)}  ${String(s.answered).padStart(8)}  ${String(s.p50Ms).padStart(6)}  ${String(s.p99Ms).padStart(6)}  ${String(s.maxMs).padStart(6)}`);
  }
  o.log(`memory over time (s: RSS / JS heap in use / JS heap held, MiB, life): ${report.memoryOverTime.map((s) => `${s.t}: ${s.rssMiB} / ${s.heapUsedMiB ?? '?'} / ${s.heapTotalMiB ?? '?'} (${s.life})`).join(', ')}`);
  o.log(
    `memory verdict (life ${verdict.life}, ${verdict.seconds} s): ${verdict.reason}; JS heap in use after a full collection: ${verdict.startMiB} MiB early in the life, ${verdict.endMiB} MiB after the drain, limit ${verdict.limitMiB} MiB; peaks: RSS ${verdict.rssPeakMiB} MiB (budget ${RSS_BUDGET_MIB}), JS heap held ${verdict.heapTotalPeakMiB} MiB`,
  );

  await gw.stop().catch(() => undefined);
  await lab?.destroy().catch(() => undefined);
  await erp.close();
  if (!useLab) rmSync(dir, { recursive: true, force: true });
  if (o.json) writeFileSync(o.json, JSON.stringify(report, null, 2));

  const t = v.tills;
  const tillsOk = t.paid > 0 && t.atErp === t.paid && t.lost + t.duplicated + t.reverted + t.pending === 0;
  const ok = failure === undefined && v.lost.length === 0 && v.duplicated.length === 0 && v.keyMismatch === 0 && tillsOk && verdict.ok && v.acked.order > 0;
  o.log(
    ok
      ? 'SOAK PASSED'
      : `SOAK FAILED${failure ? `: ${failure}` : ''}${v.lost.length ? `; lost ${v.lost.slice(0, 5).join(', ')}` : ''}${v.duplicated.length ? `; duplicated ${v.duplicated.slice(0, 5).join(', ')}` : ''}${tillsOk ? '' : `; tills ${JSON.stringify(t)}`}${verdict.ok ? '' : `; ${verdict.reason}`}`,
  );
  return { ok, report };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '3' }, 'outage-s': { type: 'string', default: '60' }, 'no-lab': { type: 'boolean', default: false }, json: { type: 'string' } } });
  const minutes = Number(values.minutes);
  const outageS = Number(values['outage-s']);
  if (!(minutes > 0) || !(outageS >= 0)) {
    console.error('usage: npm run soak -- --minutes N [--outage-s S] [--no-lab] [--json FILE]');
    process.exit(2);
  }
  soak({ minutes, outageS, lab: !values['no-lab'], json: values.json, log: (s) => console.log(s) }).then(
    ({ ok }) => process.exit(ok ? 0 : 1),
    (e: Error) => {
      console.error(e.stack ?? e.message);
      process.exit(1);
    },
  );
}
