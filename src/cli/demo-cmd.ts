// `storegw demo` (what `npm start` runs): the whole story on one machine, on
// loopback and without root — an ERP simulator, a hub with its dashboard,
// store gateways behind WAN relays, tills and scanners selling, and a scripted
// story of outages narrated in the terminal.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startDemoWorld, type DemoStore, type DemoWorld } from '../demo/fleet-demo.js';
import { progressBar, story, type StoryStep } from '../demo/story.js';
import { createLogger } from '../log.js';
import { UsageError } from './usage.js';

const MARKER = '.storegw-demo';

interface Flags {
  story: boolean;
  stores: number;
  stepSeconds: number;
  cycles: number;
  dataDir: string | undefined;
}

function parseFlags(args: string[]): Flags {
  const { values } = parseArgs({
    args,
    options: {
      'no-story': { type: 'boolean', default: false },
      stores: { type: 'string', default: '3' },
      'step-seconds': { type: 'string', default: '20' },
      cycles: { type: 'string', default: '0' },
      data: { type: 'string' },
    },
    strict: true,
  });
  const int = (name: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  return {
    story: !values['no-story'],
    stores: int('stores', values.stores, 2, 50),
    stepSeconds: int('step-seconds', values['step-seconds'], 2, 3600),
    cycles: int('cycles', values.cycles, 0, 1_000_000),
    dataDir: values.data,
  };
}

/** The demo's folder: a fresh temporary one, or --data if it is empty or an earlier demo's. */
function demoDir(given: string | undefined): { dir: string; temporary: boolean } {
  if (given === undefined) return { dir: mkdtempSync(join(tmpdir(), 'storegw-demo-')), temporary: true };
  const dir = resolve(given);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(join(dir, MARKER))) {
    throw new UsageError(`${dir} is not empty and not a storegw demo folder: the demo never writes over a real configuration`);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, MARKER), 'written by storegw demo\n');
  return { dir, temporary: false };
}

const pad = (s: string, n: number) => s.padEnd(n);

async function storeLine(world: DemoWorld, s: DemoStore): Promise<string> {
  const st = await world.status(s).catch(() => undefined);
  const paths = st ? st.paths.map((p) => `${p.name} ${p.state.toUpperCase()}`).join(', ') : 'status unavailable';
  const c = s.traffic.counts;
  return `  ${pad(s.id, 9)} ${pad(paths, 24)} orders ${c.acked} acked (${c.journaled} journaled)  backlog ${st?.pending ?? '?'}`;
}

function sleep(ms: number, stop: { stopped: boolean }): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    const poll = setInterval(() => {
      if (stop.stopped) {
        clearTimeout(t);
        clearInterval(poll);
        r();
      }
    }, 100);
    setTimeout(() => clearInterval(poll), ms + 10);
  });
}

async function playStep(world: DemoWorld, step: StoryStep, seconds: number, out: (s: string) => void, stop: { stopped: boolean }): Promise<void> {
  step.apply({
    cut: (store, path) => world.stores.find((s) => s.id === store)?.relays.get(path)?.set({ state: 'cut' }),
    restoreAll: () => world.stores.forEach((s) => s.relays.forEach((r) => r.set({ state: 'up' }))),
  });
  out(`\n▶ ${step.narration}`);
  const draining = step.drain && world.stores.find((s) => s.id === step.drain);
  const backlog = draining ? (await world.status(draining)).pending : 0;
  // Tills keep selling meanwhile, so the backlog can grow while it drains: the bar shows the most drained so far.
  let drained = 0;
  const until = Date.now() + seconds * 1000;
  while (!stop.stopped && Date.now() < until) {
    await sleep(Math.min(5000, Math.max(0, until - Date.now())), stop);
    if (stop.stopped) return;
    if (draining) {
      drained = Math.max(drained, backlog - (await world.status(draining)).pending);
      out(`  ${draining.id} drain ${progressBar(drained, backlog)}`);
    } else {
      for (const s of world.stores) out(await storeLine(world, s));
    }
  }
}

/** Stops the tills, brings every line back, waits (bounded) for the backlogs to drain, and checks every acknowledged order is at the ERP once. */
async function settle(world: DemoWorld, out: (s: string) => void): Promise<boolean> {
  await Promise.all(world.stores.map((s) => s.traffic.stop()));
  world.stores.forEach((s) => s.relays.forEach((r) => r.set({ state: 'up' })));
  const until = Date.now() + 30_000;
  let pending = Infinity;
  while (Date.now() < until) {
    pending = (await Promise.all(world.stores.map((s) => world.status(s).then((st) => st.pending)))).reduce((a, b) => a + b, 0);
    if (pending === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const timesCommitted = new Map<string, number>();
  for (const c of world.erp.commits()) if (c.uuid !== null) timesCommitted.set(c.uuid, (timesCommitted.get(c.uuid) ?? 0) + 1);
  const acked = world.stores.flatMap((s) => [...s.traffic.ackedOrders]);
  const missing = acked.filter((u) => !timesCommitted.has(u)).length;
  const lost = pending === 0 ? missing : 0;
  const duplicated = [...timesCommitted.values()].filter((n) => n > 1).length;
  out(
    `\norders: ${acked.length} acknowledged, ${acked.length - missing} at the ERP, ${pending} still journaled, ${lost} lost, ${duplicated} duplicated` +
      ` (${world.erp.duplicates()} repeated deliveries answered from the ERP's memory by idempotency key)`,
  );
  return lost === 0 && duplicated === 0;
}

export async function demoCommand(args: string[], out: (s: string) => void): Promise<number> {
  const flags = parseFlags(args);
  const logger = createLogger({ name: 'storegw-demo', level: process.env.LOG_LEVEL ?? 'error' });
  const { dir, temporary } = demoDir(flags.dataDir);
  const stop = { stopped: false };
  const onSignal = () => (stop.stopped = true);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let world: DemoWorld | undefined;
  try {
    world = await startDemoWorld({ dataDir: dir, stores: flags.stores, ports: { erp: 8069, hub: 7070 }, logger });
    const w = world;
    out(`storegw demo — ${flags.stores} stores, a fleet hub and a simulated Odoo ERP, on this machine

  dashboard        ${w.hub.url}/
    operator token ${w.tokens.operator}
    viewer token   ${w.tokens.viewer}
  ERP simulator    ${w.erp.url}
${w.stores.map((s) => `  ${pad(s.id, 16)} ${s.gateway.url}   (admin ${s.gateway.adminUrl}/v1/status; uplinks: ${[...s.relays.keys()].join(', ')})`).join('\n')}

Send your own order to ${w.stores[0]!.id}:
  curl -si ${w.stores[0]!.gateway.url}/web/dataset/call_kw/pos.order/sync_from_ui -H 'content-type: application/json' \\
    -d '{"jsonrpc":"2.0","method":"call","params":{"model":"pos.order","method":"sync_from_ui","args":[[{"uuid":"my-order-1","amount_total":9.9}]],"kwargs":{}}}'
Fleet from a shell:  STOREGW_HUB_URL=${w.hub.url} node dist/src/cli/main.js fleet ls --token-file ${join(dir, 'hub', 'viewer.token')}

Ctrl-C stops everything.${temporary ? ` Demo data: ${dir} (removed on exit)` : ` Demo data: ${dir}`}`);

    for (const s of w.stores) s.traffic.start();
    if (!flags.story) {
      while (!stop.stopped) await sleep(60_000, stop);
    } else {
      const steps = story(w.stores.map((s) => s.id));
      for (let cycle = 1; !stop.stopped && (flags.cycles === 0 || cycle <= flags.cycles); cycle++) {
        for (const step of steps) {
          if (stop.stopped) break;
          await playStep(w, step, flags.stepSeconds, out, stop);
        }
      }
    }
    const ok = await settle(w, out);
    return ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await world?.close();
    if (temporary) rmSync(dir, { recursive: true, force: true });
    out('demo stopped');
  }
}
