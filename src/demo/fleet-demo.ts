// The demo's world on one machine, on loopback and without root: the ERP
// simulator, a hub with its dashboard, store gateways whose uplinks pass
// through WAN relays, and in every store emulated Odoo POS tills and a
// barcode scanner (src/demo/pos) of the release the ERP plays.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { request } from 'undici';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import { loadGatewayConfig } from '../../edge-config/load.js';
import { startHub, type RunningHub } from '../fleet/hub/server.js';
import { startGateway, type RunningGateway } from '../app/gateway.js';
import { startErpSimulator, type ErpSimulator } from '../sim/erp-simulator.js';
import type { PosVersion } from './pos/push-rules.js';
import { StoreTraffic } from './store-traffic.js';
import { WanRelay } from './wan-relay.js';

export interface DemoStore {
  id: string;
  region: string;
  gateway: RunningGateway;
  /** Uplink name → its WAN relay. */
  relays: Map<string, WanRelay>;
  traffic: StoreTraffic;
  /** A spare device token, for the visitor's own curl. */
  visitorToken: string;
}

export interface PathLine {
  name: string;
  state: string;
}

export interface StoreStatus {
  paths: PathLine[];
  pending: number;
  dead: number;
  /** Writes whose fate the gateway could not learn and will not resend blindly: an operator's to settle. */
  unknown: number;
}

export interface DemoWorld {
  erp: ErpSimulator;
  hub: RunningHub;
  stores: DemoStore[];
  tokens: { operator: string; viewer: string };
  status(store: DemoStore): Promise<StoreStatus>;
  close(): Promise<void>;
}

export interface DemoOptions {
  dataDir: string;
  stores: number;
  /** Preferred ports; any free one when taken. */
  ports: { erp: number; hub: number };
  /** The Odoo release the ERP plays and the tills run. */
  odoo: PosVersion;
  logger: Logger;
}

const REGIONS = ['eu-west', 'eu-north', 'eu-south'];

function token(): string {
  return randomBytes(18).toString('base64url');
}

function writeSecret(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
}

/** A listen on the preferred port, or on any free one when it is taken. */
async function onPort<T>(preferred: number, start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(preferred);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    return start(0);
  }
}

/**
 * The POS routes of one Odoo version, as in edge-config/examples/odoo-*.yaml:
 * every order of a push journaled under the key that version's ERP dedupes on,
 * and the till told the connection failed (502) while any of them is held, so
 * it keeps them and sends them again; reads answer "offline" when neither the
 * ERP nor the cache can.
 */
function posRoutes(version: PosVersion): string {
  const legacy = version === '16' || version === '17';
  const push = legacy
    ? '{ model: pos.order, method: create_from_ui }'
    : '{ model: pos.order, method: sync_from_ui }';
  const key = legacy ? 'params.args[0][*].data.name' : 'params.args[0][*].uuid';
  const load = legacy ? '{ model: pos.session, method: load_pos_data }' : '{ method: load_data }';
  const ping =
    version === '19'
      ? `
  # 19 polls it every 2 s while offline and sends its orders again once it answers.
  - name: pos-ping
    match: { method: POST, path: /pos/ping }
    class: interactive
    mode: passthrough
    timeoutMs: 2000
    failureAnswer: offline`
      : '';
  return `  - name: pos-orders
    match: { method: POST, jsonrpc: ${push} }
    class: critical
    mode: buffer
    timeoutMs: 3000
    idempotencyKey: { jsonPath: "${key}" }
    dedupe: natural
    heldAnswer: offline
    orderingKey: device
  - name: pos-load
    match: { method: POST, jsonrpc: ${load} }
    class: interactive
    mode: cache
    timeoutMs: 15000
    failureAnswer: offline
  - name: catalog
    match: { method: POST, jsonrpc: { model: product.product, method: search_read } }
    class: interactive
    mode: cache
    timeoutMs: 2000
    failureAnswer: offline${ping}
  - name: bus
    match: { method: GET, path: /websocket }
    class: interactive
    mode: passthrough
    websocket: true`;
}

function gatewayYaml(id: string, region: string, relays: Map<string, WanRelay>, hubUrl: string, version: PosVersion): string {
  const paths = [...relays].map(([name, relay]) =>
    name === 'fiber'
      ? `  - name: fiber
    baseUrl: ${relay.url}
    probe: { url: "${relay.url}/ping" }`
      : `  - name: ${name}
    baseUrl: ${relay.url}
    probe: { url: "${relay.url}/ping", intervalMs: 1000 }
    allowClasses: [critical, interactive]
    metered: true`,
  );
  return `# Written by storegw demo; removed with the demo's data.
version: 1
store: { id: ${id}, region: ${region}, tags: [demo] }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
  devices: { tokensFile: ./devices.yaml }     # each till and scanner presents X-Device-Token
paths:
${paths.join('\n')}
routes:
${posRoutes(version)}
  # stock_barcode saves create move lines and Odoo cannot tell a replay from a
  # new line: an attempt whose answer was lost is held as unknown for an operator.
  - name: barcode-save
    match: { method: POST, path: /stock_barcode/save_barcode_data }
    class: interactive
    mode: buffer
    timeoutMs: 3000
    idempotencyKey: { header: Idempotency-Key }
    dedupe: none
    orderingKey: device
  # Validating a done picking is an error in Odoo: a lost answer is settled by reading the picking's state back.
  - name: picking-validate
    match: { method: POST, jsonrpc: { model: stock.picking, method: button_validate } }
    class: interactive
    mode: buffer
    timeoutMs: 3000
    idempotencyKey: { header: Idempotency-Key }
    dedupe: none
    check: { model: stock.picking, domain: [[id, "=", "$.params.args[0][0]"], [state, "=", done]], afterMs: 5000 }
    orderingKey: device
  - name: images
    match: { method: GET, path: /web/image/** }
    class: bulk
    mode: cache
    timeoutMs: 15000
  - name: everything-else
    match: { path: /** }
    class: normal
    timeoutMs: 5000
    failureAnswer: offline
buffer: { path: ./journal.db, maxBytes: 256MiB }
cache: { path: ./cache.db, maxBytes: 64MiB }
replay: { ratePerSec: 20 }
fleet:
  hubUrl: ${hubUrl}
  tokenFile: ./fleet.token
  telemetryIntervalMs: 2000
  heartbeatIntervalMs: 5000
  reconnect: { baseMs: 200, maxMs: 5000 }
`;
}

export async function startDemoWorld(o: DemoOptions): Promise<DemoWorld> {
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const erp = await onPort(o.ports.erp, (port) => startErpSimulator({ host: '127.0.0.1', port, profile: `odoo-${o.odoo}` }));
    closers.push(() => erp.close());

    const ids = Array.from({ length: o.stores }, (_, i) => `store-${String(i + 1).padStart(2, '0')}`);
    const gatewayTokens = new Map(ids.map((id) => [id, token()]));
    const tokens = { operator: token(), viewer: token() };
    const hubDir = join(o.dataDir, 'hub');
    mkdirSync(hubDir, { recursive: true });
    writeSecret(join(hubDir, 'gateway-tokens.yaml'), [...gatewayTokens].map(([id, t]) => `${id}: ${t}`).join('\n') + '\n');
    writeSecret(join(hubDir, 'ops.token'), tokens.operator);
    writeSecret(join(hubDir, 'viewer.token'), tokens.viewer);
    const hub = await onPort(o.ports.hub, (port) => {
      const file = join(hubDir, 'hub.yaml');
      writeFileSync(
        file,
        `version: 1
listen: { host: 127.0.0.1, port: ${port} }
store: { path: ./hub.db }
auth:
  gatewayTokensFile: ./gateway-tokens.yaml
  opsTokens:
    - { tokenFile: ./ops.token, role: operator, name: demo-operator }
    - { tokenFile: ./viewer.token, role: viewer, name: demo-viewer }
connections: { heartbeatIntervalMs: 5000 }
`,
      );
      return startHub(loadHubConfig(file), o.logger);
    });
    closers.push(() => hub.close());
    const hubWs = `${hub.url.replace(/^http/, 'ws')}/v1/gateways/connect`;

    const stores: DemoStore[] = [];
    for (const [i, id] of ids.entries()) {
      const relays = new Map<string, WanRelay>();
      for (const name of i === 0 ? ['fiber', 'lte'] : ['fiber']) {
        const relay = await WanRelay.start(erp.url);
        relays.set(name, relay);
        closers.push(() => relay.close());
      }
      const dir = join(o.dataDir, id);
      mkdirSync(dir, { recursive: true });
      writeSecret(join(dir, 'fleet.token'), gatewayTokens.get(id)!);
      const devices = new Map(['pos-1', 'pos-2', 'pos-3', 'scanner-1'].map((d) => [d, token()]));
      const visitorToken = token();
      writeSecret(join(dir, 'devices.yaml'), [...devices, ['visitor', visitorToken]].map(([d, t]) => `${d}: ${t}`).join('\n') + '\n');
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, gatewayYaml(id, REGIONS[i % REGIONS.length]!, relays, hubWs, o.odoo));
      const gateway = await startGateway(loadGatewayConfig(file), o.logger.child({ store: id }));
      closers.push(() => gateway.close());
      const traffic = new StoreTraffic({ gatewayUrl: gateway.url, version: o.odoo, deviceTokens: devices, everyMs: 1500, firstPicking: (i + 1) * 100_000 });
      closers.push(() => traffic.stop());
      stores.push({ id, region: REGIONS[i % REGIONS.length]!, gateway, relays, traffic, visitorToken });
    }

    return {
      erp,
      hub,
      stores,
      tokens,
      async status(store) {
        const res = await request(`${store.gateway.adminUrl}/v1/status`);
        const s = (await res.body.json()) as { paths: PathLine[]; queue: { pending: number; dead: number; unknown: number } };
        return { paths: s.paths.map((p) => ({ name: p.name, state: p.state })), pending: s.queue.pending, dead: s.queue.dead, unknown: s.queue.unknown };
      },
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
