// A small fleet for the dashboard's browser tests: a real hub (SQLite, ops
// tokens for an operator and a viewer) and real gateways, each with the fleet
// agent dialling the hub and its own ERP simulator upstream, probing it fast
// so that an upstream that hangs turns the gateway's paths DOWN within a second.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import { startHub, type RunningHub } from '../../src/fleet/hub/server.js';
import { createLogger } from '../../src/log.js';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { posOrderBody, posOrdersRoute } from '../support/pos.js';
import { isCI } from '../lab/describe-lab.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Debian's chromium as root in a container: no sandbox, nothing fetched from the internet. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserSkipReason(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`;
}

export { isCI };

export const OPERATOR_TOKEN = 'operator-token-7d1e5c2b9a40f386';
export const VIEWER_TOKEN = 'viewer-token-52c8e0b7a1d94f63';
export const gatewayToken = (id: string) => `gateway-token-of-${id}-4b7f0e2a`;

export interface Store {
  id: string;
  region: string;
  erp: ErpSimulator;
  gw: TestGateway;
  closed: boolean;
}

export interface TestFleet {
  hub: RunningHub;
  stores: Store[];
  hubLogs(): string;
  /** The gateway's admin /v1/status. */
  adminStatus(s: Store): Promise<{ replay: { paused: boolean; ratePerSec: number }; queue: { pending: number; dead: number }; paths: { name: string; state: string }[] }>;
  /** Sends a POS order to the store's gateway: 202 when it was buffered. */
  order(s: Store, uuid: string): Promise<number>;
  closeStore(s: Store): Promise<void>;
  close(): Promise<void>;
}

function gatewayYaml(s: { id: string; region: string }, erp: string, hubUrl: string): string {
  const probe = `{ url: ${erp}/ping, intervalMs: 200, fastIntervalMs: 50, timeoutMs: 300, minTimeoutMs: 100 }`;
  return `version: 1
store: { id: ${s.id}, region: ${s.region} }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
paths:
  - name: fiber
    baseUrl: ${erp}
    probe: ${probe}
  - name: lte
    baseUrl: ${erp}
    probe: ${probe}
routes:
${posOrdersRoute(300)}
  - name: everything-else
    match: { path: /* }
    class: normal
buffer: { path: ./journal.db }
cache: { path: ./cache.db }
replay: { ratePerSec: 50, concurrency: 2, backoff: { baseMs: 50, maxMs: 300 } }
link: { downAfter: 2, upAfter: 2 }
fleet:
  hubUrl: ${hubUrl.replace(/^http/, 'ws')}/v1/gateways/connect
  tokenFile: fleet.token
  telemetryIntervalMs: 250
  heartbeatIntervalMs: 1000
  reconnect: { baseMs: 50, maxMs: 500 }
`;
}

/** `stores` are real gateways; `otherIds` may connect too (fake gateways, with gatewayToken(id)); `hubExtra`: more top-level sections of hub.yaml. */
export async function startTestFleet(stores: { id: string; region: string }[], otherIds: string[] = [], hubExtra = ''): Promise<TestFleet> {
  const dir = tempDir('storegw-dashboard-');
  writeFileSync(join(dir, 'gateway-tokens.yaml'), [...stores.map((s) => s.id), ...otherIds].map((id) => `${id}: ${gatewayToken(id)}`).join('\n') + '\n', { mode: 0o600 });
  writeFileSync(join(dir, 'ops.token'), `${OPERATOR_TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'viewer.token'), `${VIEWER_TOKEN}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, 'hub.yaml'),
    `version: 1
listen: { host: 127.0.0.1, port: 0 }
store: { path: ./hub.db, flushIntervalMs: 50 }
auth:
  gatewayTokensFile: gateway-tokens.yaml
  opsTokens: [ { tokenFile: ops.token, role: operator, name: ops-alice }, { tokenFile: viewer.token, role: viewer, name: noc-screen } ]
connections: { heartbeatIntervalMs: 1000 }
commands: { timeoutMs: 3000 }
${hubExtra}`,
  );
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const hub = await startHub(loadHubConfig(join(dir, 'hub.yaml')), createLogger({ level: 'debug', destination }));
  const started: Store[] = [];
  try {
    for (const s of stores) {
      const erp = await startErpSimulator();
      const gw = await startTestGateway(gatewayYaml(s, erp.url, hub.url), { 'fleet.token': `${gatewayToken(s.id)}\n` });
      started.push({ ...s, erp, gw, closed: false });
    }
  } catch (e) {
    for (const s of started) await Promise.allSettled([s.gw.close(), s.erp.close()]);
    await hub.close();
    throw e;
  }

  const fleet: TestFleet = {
    hub,
    stores: started,
    hubLogs: () => lines.join(''),
    async adminStatus(s) {
      const res = await request(`${s.gw.gw.adminUrl}/v1/status`);
      return (await res.body.json()) as Awaited<ReturnType<TestFleet['adminStatus']>>;
    },
    async order(s, uuid) {
      const res = await request(`${s.gw.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: posOrderBody(uuid) });
      await res.body.dump();
      return res.statusCode;
    },
    async closeStore(s) {
      if (s.closed) return;
      s.closed = true;
      await s.gw.close();
    },
    async close() {
      for (const s of started) await Promise.allSettled([fleet.closeStore(s), s.erp.close()]);
      await hub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fleet;
}
