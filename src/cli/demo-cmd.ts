// `storegw demo` (what `npm start` runs): the whole story on one machine, on
// loopback and without root — an ERP simulator, a hub with its dashboard,
// store gateways behind WAN relays, emulated Odoo POS tills and barcode
// scanners at work, and a scripted story of outages narrated in the terminal.
// It ends by judging the gateway as the tills would: every order paid at a
// till is at the ERP once, and none was put back to unpaid.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startDemoWorld, type DemoStore, type DemoWorld } from '../demo/fleet-demo.js';
import { POS_VERSIONS, pushMethod, type PosVersion } from '../demo/pos/push-rules.js';
import { posVerdict, scannerVerdict } from '../demo/pos/verdict.js';
import { progressBar, story, tillCounters, verdictLines, verdictOk, type StoryStep } from '../demo/story.js';
import { createLogger } from '../log.js';
import { UsageError } from './usage.js';

const MARKER = '.storegw-demo';

interface Flags {
  story: boolean;
  stores: number;
  stepSeconds: number;
  cycles: number;
  odoo: PosVersion;
  dataDir: string | undefined;
}

function isPosVersion(v: string): v is PosVersion {
  return (POS_VERSIONS as readonly string[]).includes(v);
}

function parseFlags(args: string[]): Flags {
  const { values } = parseArgs({
    args,
    options: {
      'no-story': { type: 'boolean', default: false },
      stores: { type: 'string', default: '3' },
      'step-seconds': { type: 'string', default: '20' },
      cycles: { type: 'string', default: '0' },
      odoo: { type: 'string', default: '18' },
      data: { type: 'string' },
    },
    strict: true,
  });
  const int = (name: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const odoo = values.odoo;
  if (!isPosVersion(odoo)) throw new UsageError(`--odoo must be one of ${POS_VERSIONS.join(', ')} (the Odoo release the ERP plays and the tills run)`);
  return {
    odoo,
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

/** The ERP's committed POS orders and scanned move lines, apart: both carry the client's own id. */
function committed(world: DemoWorld) {
  const commits = world.erp.commits();
  return { orders: commits.filter((c) => c.model === 'pos.order'), moveLines: commits.filter((c) => c.model === 'stock.move.line') };
}

async function storeLine(world: DemoWorld, s: DemoStore, orders: ReturnType<typeof committed>['orders']): Promise<string> {
  const st = await world.status(s).catch(() => undefined);
  const paths = st ? st.paths.map((p) => `${p.name} ${p.state.toUpperCase()}`).join(', ') : 'status unavailable';
  return `  ${pad(s.id, 9)} ${pad(paths, 24)} orders ${tillCounters(posVerdict(s.traffic.tills, orders))}  backlog ${st?.pending ?? '?'}`;
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
      out(`  ${draining.id} drain ${progressBar(drained, backlog)}  held at the tills ${draining.traffic.heldAtTills()}`);
    } else {
      const { orders } = committed(world);
      for (const s of world.stores) out(await storeLine(world, s, orders));
    }
  }
}

/** Bounds the wait for the backlogs and the tills at the end. */
const SETTLE_MS = 60_000;

/** Journal entries still to deliver in every store; unknown while a gateway does not answer. */
async function backlog(world: DemoWorld): Promise<number> {
  const pending = await Promise.all(world.stores.map((s) => world.status(s).then((st) => st.pending, () => Number.POSITIVE_INFINITY)));
  return pending.reduce((a, b) => a + b, 0);
}

/**
 * Stops selling, brings every line back and waits (bounded) until the
 * gateways have delivered their backlogs and the tills hold nothing: a till
 * holding orders is restarted, as a cashier reloading the page, since 16/17
 * send held orders again only then. Returns the seconds it took, or undefined
 * when time ran out.
 */
async function settle(world: DemoWorld): Promise<number | undefined> {
  await Promise.all(world.stores.map((s) => s.traffic.stopSelling()));
  world.stores.forEach((s) => s.relays.forEach((r) => r.set({ state: 'up' })));
  const started = Date.now();
  while (Date.now() - started < SETTLE_MS) {
    const journaled = await backlog(world);
    const held = world.stores.reduce((n, s) => n + s.traffic.heldAtTills(), 0);
    if (journaled === 0 && held === 0) return Math.round((Date.now() - started) / 1000);
    // Until the gateways have delivered, a till's re-send is answered "offline" again.
    if (journaled === 0) await Promise.all(world.stores.map((s) => s.traffic.resendHeld()));
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

/** The tills' and scanners' verdict against the ERP's commits; true when the run kept its promise. */
async function judge(world: DemoWorld, out: (s: string) => void): Promise<boolean> {
  const { orders, moveLines } = committed(world);
  const pos = posVerdict(world.stores.flatMap((s) => s.traffic.tills), orders);
  const scanners = world.stores.flatMap((s) => (s.traffic.scanner ? [s.traffic.scanner] : []));
  const scanned = scannerVerdict(scanners, moveLines);
  const unknown = (await Promise.all(world.stores.map((s) => world.status(s).then((st) => st.unknown, () => 0)))).reduce((a, b) => a + b, 0);
  for (const line of verdictLines(pos, scanned, unknown)) out(line);
  return verdictOk(pos, scanned);
}

/** A visitor's own order for the banner, in the version's push format. */
function curlOrder(version: PosVersion, url: string, deviceToken: string): string {
  const method = pushMethod(version);
  const order =
    method === 'create_from_ui'
      ? '[[{"id":"my-order-1","data":{"name":"Order my-order-1","uid":"my-order-1","amount_total":9.9,"lines":[],"statement_ids":[]},"to_invoice":false}],false]'
      : '[[{"uuid":"my-order-1","pos_reference":"Order my-order-1","amount_total":9.9,"lines":[]}]]';
  return `  curl -si ${url}/web/dataset/call_kw/pos.order/${method} -H 'content-type: application/json' -H 'x-device-token: ${deviceToken}' \\
    -d '{"jsonrpc":"2.0","method":"call","id":1,"params":{"model":"pos.order","method":"${method}","args":${order},"kwargs":{}}}'
  (a 200 with the ERP's answer when it is reachable; a 502 "held" while the order waits in the journal)`;
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
    world = await startDemoWorld({ dataDir: dir, stores: flags.stores, ports: { erp: 8069, hub: 7070 }, odoo: flags.odoo, logger });
    const w = world;
    out(`storegw demo — ${flags.stores} stores, a fleet hub and a simulated Odoo ${flags.odoo} ERP, on this machine;
  its tills are emulated Odoo ${flags.odoo} POS clients (they keep, re-send, drop or revert orders as the real one does)

  dashboard        ${w.hub.url}/
    operator token ${w.tokens.operator}
    viewer token   ${w.tokens.viewer}
  ERP simulator    ${w.erp.url}
${w.stores.map((s) => `  ${pad(s.id, 16)} ${s.gateway.url}   (admin ${s.gateway.adminUrl}/v1/status; uplinks: ${[...s.relays.keys()].join(', ')})`).join('\n')}

Send your own order to ${w.stores[0]!.id}:
${curlOrder(flags.odoo, w.stores[0]!.gateway.url, w.stores[0]!.visitorToken)}
Fleet from a shell:  STOREGW_HUB_URL=${w.hub.url} node dist/src/cli/main.js fleet ls --token-file ${join(dir, 'hub', 'viewer.token')}

Ctrl-C stops everything.${temporary ? ` Demo data: ${dir} (removed on exit)` : ` Demo data: ${dir}`}`);

    for (const s of w.stores) s.traffic.startSelling();
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
    out('\nSelling stops; every line is back. Waiting for the backlogs to drain and the tills to send what they hold...');
    const took = await settle(w);
    out(took === undefined ? `  not settled within ${SETTLE_MS / 1000}s` : `  settled in ${took}s`);
    return (await judge(w, out)) ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await world?.close();
    if (temporary) rmSync(dir, { recursive: true, force: true });
    out('demo stopped');
  }
}
