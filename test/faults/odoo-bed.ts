// The Odoo store bed: the ERP simulator answering as one Odoo release, and a
// real `storegw gateway` child process configured from that release's shipped
// example (edge-config/examples/odoo-*.yaml), adapted only where a test must:
// loopback ports, the simulator as the path, a temp journal, fast replay and
// short deadlines. The routes themselves (keys, dedupe, held answers, read-back
// checks) are the examples' own, so this bed judges what a store would run.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import type { HeldAnswer } from '../../edge-config/schema.js';
import type { PosVersion } from '../../src/demo/pos/push-rules.js';
import { startErpSimulator, type ErpSimulator, type SimBehavior } from '../../src/sim/erp-simulator.js';
import type { EntryState, EntryView } from '../../sync/journal-store.js';
import { tempDir } from '../support/gateway.js';
import { freePort, GatewayProcess } from '../support/gateway-process.js';
import { TEST_REPLAY } from './bed.js';

/** Every route's live deadline in the bed: long enough for a loopback ERP, short enough that an outage costs seconds. */
export const ROUTE_TIMEOUT_MS = 1500;
/** When a read-back check looks at an unknown entry, and again after one that could not decide. */
const CHECK_AFTER_MS = 300;
const CHECK_EVERY_MS = 500;

const EXAMPLES: Record<PosVersion, string> = { '16': 'odoo-16-17.yaml', '17': 'odoo-16-17.yaml', '18': 'odoo-18.yaml', '19': 'odoo-19.yaml' };

type Doc = Record<string, unknown>;

function isDoc(v: unknown): v is Doc {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export interface AdaptOptions {
  erpUrl: string;
  port: number;
  adminPort: number;
  /** A device token file (relative to the gateway's folder): each device its own lane, as each till's own address is in a store. */
  tokensFile?: string;
  /** Replaces the pos-orders route's heldAnswer (the control runs today's 202 receipts). */
  posHeldAnswer?: HeldAnswer;
}

/** The shipped example for `version`, adapted to run on loopback against the simulator. */
export function adaptExample(version: PosVersion, o: AdaptOptions): string {
  const file = fileURLToPath(new URL(`../../edge-config/examples/${EXAMPLES[version]}`, import.meta.url));
  const doc: unknown = parse(readFileSync(file, 'utf8'));
  if (!isDoc(doc) || !isDoc(doc.gateway) || !Array.isArray(doc.routes)) throw new Error(`${file}: not a gateway config with gateway: and routes:`);
  // The schema reference is relative to the examples folder; the copy lives elsewhere.
  delete doc.$schema;
  // Admitted by address as in the examples; every emulated device connects from 127.0.0.1, so
  // without tokens they share one lane, where a store's tills each have their own address.
  const devices = { allowCidrs: ['127.0.0.0/8'], ...(o.tokensFile !== undefined && { tokensFile: o.tokensFile }) };
  doc.gateway = { ...doc.gateway, listen: { host: '127.0.0.1', port: o.port }, admin: { host: '127.0.0.1', port: o.adminPort }, devices };
  // The uplink is the simulator; the probe stays, so an outage takes the path DOWN as it would in a store.
  doc.paths = [{ name: 'fiber', baseUrl: o.erpUrl, probe: { url: `${o.erpUrl}/ping` } }];
  const routes = doc.routes.filter(isDoc);
  if (!routes.some((r) => r.name === 'pos-orders')) throw new Error(`${file}: no pos-orders route`);
  doc.routes = routes.map((r) => ({
    ...r,
    ...(typeof r.timeoutMs === 'number' && { timeoutMs: Math.min(r.timeoutMs, ROUTE_TIMEOUT_MS) }),
    ...(isDoc(r.check) && { check: { ...r.check, afterMs: CHECK_AFTER_MS, everyMs: CHECK_EVERY_MS } }),
    ...(r.name === 'pos-orders' && o.posHeldAnswer !== undefined && { heldAnswer: o.posHeldAnswer }),
  }));
  doc.buffer = { ...(isDoc(doc.buffer) ? doc.buffer : {}), path: './journal.db' };
  doc.cache = { path: './cache.db' };
  const replay: unknown = parse(TEST_REPLAY);
  if (!isDoc(replay)) throw new Error('TEST_REPLAY is not a YAML mapping');
  Object.assign(doc, replay);
  return stringify(doc);
}

export interface JournalCounts {
  pending: number;
  dead: number;
  unknown: number;
  delivered: number;
}

export interface AdminReply {
  status: number;
  body: unknown;
}

export interface OdooBed {
  erp: ErpSimulator;
  gw: GatewayProcess;
  /** The gateway's LAN address, the same across restarts. */
  url: string;
  /** Gateway processes started after the first (each on the same journal and ports). */
  restarts: number;
  /** The headers a device sends: its X-Device-Token when the bed gives each device a lane, else none. */
  headersFor(device: string): Record<string, string>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
  journal(): Promise<JournalCounts>;
  /** The journal's entries in one state, oldest first (admin API GET /v1/queue). */
  entries(state: EntryState): Promise<EntryView[]>;
  admin(method: 'GET' | 'POST', path: string, body?: unknown): Promise<AdminReply>;
  /** behaviorLeft() of this bed's simulator. */
  behaviorLeft(): Promise<number>;
  close(): Promise<void>;
}

export interface OdooBedOptions {
  version: PosVersion;
  posHeldAnswer?: HeldAnswer;
  /** Devices given a token, hence a lane each; without, every device shares 127.0.0.1's lane. */
  devices?: readonly string[];
}

const tokenOf = (device: string) => `tok-${device}-3e9d0c7a5f1b4a26`;

async function json(method: 'GET' | 'POST', url: string, body?: unknown): Promise<AdminReply> {
  const res = await request(url, {
    method,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Kept as text: the caller's assertion shows it.
  }
  return { status: res.statusCode, body: parsed };
}

/** How many of the simulator's counted behaviour's requests are still to come (0 once used up; Infinity when uncounted). */
export async function behaviorLeft(erp: ErpSimulator): Promise<number> {
  const state = await json('GET', `${erp.url}/_sim/state`);
  const behavior = isDoc(state.body) && isDoc(state.body.behavior) ? (state.body.behavior as unknown as SimBehavior) : undefined;
  if (behavior === undefined) throw new Error(`/_sim/state answered ${state.status}: ${JSON.stringify(state.body)}`);
  return behavior.mode === 'ok' ? 0 : (behavior.count ?? Number.POSITIVE_INFINITY);
}

export async function startOdooBed(o: OdooBedOptions): Promise<OdooBed> {
  const dir = tempDir(`storegw-odoo-${o.version}-`);
  const erp = await startErpSimulator({ profile: `odoo-${o.version}` });
  const [port, adminPort] = [await freePort(), await freePort()];
  const config = join(dir, 'gateway.yaml');
  const devices = new Set(o.devices ?? []);
  if (devices.size > 0) writeFileSync(join(dir, 'devices.yaml'), stringify(Object.fromEntries([...devices].map((d) => [d, tokenOf(d)]))), { mode: 0o600 });
  writeFileSync(
    config,
    adaptExample(o.version, {
      erpUrl: erp.url,
      port,
      adminPort,
      ...(devices.size > 0 && { tokensFile: 'devices.yaml' }),
      ...(o.posHeldAnswer !== undefined && { posHeldAnswer: o.posHeldAnswer }),
    }),
  );
  const launch = () => GatewayProcess.start({ config, cwd: dir });
  let gw: GatewayProcess;
  try {
    gw = await launch();
  } catch (e) {
    await erp.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const bed: OdooBed = {
    erp,
    gw,
    url: `http://127.0.0.1:${port}`,
    restarts: 0,
    headersFor(device): Record<string, string> {
      if (devices.size === 0) return {};
      if (!devices.has(device)) throw new Error(`device ${device} has no token in this bed`);
      return { 'x-device-token': tokenOf(device) };
    },
    kill9: () => bed.gw.kill9(),
    async restart() {
      bed.gw = await launch();
      bed.restarts += 1;
    },
    async journal() {
      const status = await bed.admin('GET', '/v1/status');
      const queue = isDoc(status.body) && isDoc(status.body.queue) ? status.body.queue : undefined;
      if (status.status !== 200 || queue === undefined) throw new Error(`/v1/status answered ${status.status}: ${JSON.stringify(status.body)}`);
      const n = (k: string) => (typeof queue[k] === 'number' ? queue[k] : NaN);
      return { pending: n('pending'), dead: n('dead'), unknown: n('unknown'), delivered: n('delivered') };
    },
    async entries(state) {
      const reply = await bed.admin('GET', `/v1/queue?state=${state}&limit=1000`);
      if (reply.status !== 200 || !isDoc(reply.body) || !Array.isArray(reply.body.entries)) throw new Error(`/v1/queue?state=${state} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
      return reply.body.entries as EntryView[];
    },
    admin: (method, path, body) => json(method, `${bed.gw.adminUrl}${path}`, body),
    behaviorLeft: () => behaviorLeft(erp),
    async close() {
      await bed.gw.stop().catch(() => undefined);
      await erp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return bed;
}
