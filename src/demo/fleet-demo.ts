// The demo's world on one machine, on loopback and without root: the ERP
// simulator, a hub with its dashboard, store gateways whose uplinks pass
// through WAN relays, and simulated tills and scanners in every store.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { request } from 'undici';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import { loadGatewayConfig } from '../../edge-config/load.js';
import { startHub, type RunningHub } from '../fleet/hub/server.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { startErpSimulator, type ErpSimulator } from '../sim/erp-simulator.js';
import { StoreTraffic } from './store-traffic.js';
import { WanRelay } from './wan-relay.js';

export interface DemoStore {
  id: string;
  region: string;
  gateway: RunningGateway;
  /** Uplink name → its WAN relay. */
  relays: Map<string, WanRelay>;
  traffic: StoreTraffic;
}

export interface PathLine {
  name: string;
  state: string;
}

export interface StoreStatus {
  paths: PathLine[];
  pending: number;
  dead: number;
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

function gatewayYaml(id: string, region: string, relays: Map<string, WanRelay>, hubUrl: string): string {
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
  - name: pos-orders
    match: { method: POST, jsonrpc: { model: pos.order, method: sync_from_ui } }
    class: critical
    mode: buffer
    dedupe: natural
    timeoutMs: 3000
    idempotencyKey: { jsonPath: "params.args[0][0].uuid" }
  - name: scanner-validate
    match: { method: POST, jsonrpc: { model: stock.picking, method: button_validate } }
    class: interactive
    mode: buffer
    dedupe: none
    # Validating a picking twice is an error in Odoo: an attempt whose answer was lost is read back, not sent again.
    check: { model: stock.picking, domain: [[id, "=", "$.params.args[0][0]"], [state, "=", done]], afterMs: 5000 }
    timeoutMs: 3000
    idempotencyKey: { header: Idempotency-Key }
  - name: catalog
    match: { method: POST, jsonrpc: { model: product.product } }
    class: interactive
    mode: cache
    timeoutMs: 2000
  - name: images
    match: { method: GET, path: /web/image/** }
    class: bulk
    mode: cache
    timeoutMs: 15000
  - name: everything-else
    match: { path: /** }
    class: normal
    timeoutMs: 5000
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
    const erp = await onPort(o.ports.erp, (port) => startErpSimulator({ host: '127.0.0.1', port }));
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
      writeSecret(join(dir, 'devices.yaml'), [...devices].map(([d, t]) => `${d}: ${t}`).join('\n') + '\n');
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, gatewayYaml(id, REGIONS[i % REGIONS.length]!, relays, hubWs));
      const gateway = await startGateway(loadGatewayConfig(file), o.logger.child({ store: id }));
      closers.push(() => gateway.close());
      const traffic = new StoreTraffic(gateway.url, devices, 1500);
      closers.push(() => traffic.stop());
      stores.push({ id, region: REGIONS[i % REGIONS.length]!, gateway, relays, traffic });
    }

    return {
      erp,
      hub,
      stores,
      tokens,
      async status(store) {
        const res = await request(`${store.gateway.adminUrl}/v1/status`);
        const s = (await res.body.json()) as { paths: PathLine[]; queue: { pending: number; dead: number } };
        return { paths: s.paths.map((p) => ({ name: p.name, state: p.state })), pending: s.queue.pending, dead: s.queue.dead };
      },
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
