// The real `storegw gateway` process inside a lab's store namespace: its LAN
// and admin ports on the store's LAN address (reached from the test's own
// namespace over the LAN veth), its uplinks the lab's WireGuard tunnels.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import type { PathTelemetry } from '../../src/fleet/protocol.js';
import { GatewayProcess } from '../support/gateway-process.js';
import type { Lab, LabUplink } from './topology.js';

/** A path in the gateway's /v1/status: the shape the fleet protocol carries, and the round trips' median and p95. */
export type LabPathStatus = PathTelemetry & { rttP50Ms: number | null; rttP95Ms: number | null };

/** The gateway process, and its paths by name. */
export type LabGateway = GatewayProcess & { paths(): Promise<Record<string, LabPathStatus>> };

export interface LabGatewayOptions {
  /** YAML list items under routes:. */
  routes: string;
  /** The link: section, as a YAML flow mapping. */
  link?: string;
  /** Per uplink: extra keys for its path entry (flow-mapping body), e.g. "allowClasses: [critical]". */
  pathExtra?: Record<string, string>;
}

export function labGatewayYaml(lab: Lab, o: LabGatewayOptions): string {
  const path = (u: LabUplink) => `  - name: ${u.name}
    baseUrl: ${u.baseUrl}
    wireguard: { interface: ${u.storeWg} }
    localAddress: ${u.storeTunnelAddress}
    probe: { url: "${u.probeUrl}" }
${o.pathExtra?.[u.name] ? `    ${o.pathExtra[u.name]}\n` : ''}`;
  return `version: 1
store: { id: lab-store-${lab.id}, region: lab }
gateway:
  listen: { host: ${lab.lan.storeAddress}, port: 8080 }
  admin: { host: ${lab.lan.storeAddress}, port: 9080 }
paths:
${Object.values(lab.uplinks).map(path).join('')}routes:
${o.routes}
buffer: { path: ./journal.db }
cache: { path: ./cache.db }
replay: { ratePerSec: 200, backoff: { baseMs: 200, maxMs: 2000 } }
${o.link ? `link: ${o.link}\n` : ''}`;
}

/** Starts the gateway in the store namespace, with the node flags it is deployed with; it serves once it says it started. */
export async function startLabGateway(lab: Lab, yaml: string, name = 'gateway'): Promise<LabGateway> {
  const dir = join(lab.dir, name);
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, yaml);
  const gw = await GatewayProcess.start({ config, cwd: dir, spawner: (cmd, args, opts) => lab.spawn('store', cmd, args, opts) });
  return Object.assign(gw, {
    async paths() {
      const s = (await (await request(`${gw.adminUrl}/v1/status`)).body.json()) as { paths: LabPathStatus[] };
      return Object.fromEntries(s.paths.map((p) => [p.name, p]));
    },
  });
}
