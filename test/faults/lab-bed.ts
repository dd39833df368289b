// The mixed-load gateway config on the network lab's two tunnels (fiber, and
// a metered LTE for critical and interactive traffic), for the WAN cases of
// the fault matrix and for the soak.
import type { Lab } from '../lab/topology.js';
import { mixRoutes, TEST_REPLAY } from './bed.js';

/** The store's gateway config on the lab's two tunnels. */
export function labMixYaml(lab: Lab): string {
  const path = (name: string, extra: string) => {
    const u = lab.uplinks[name]!;
    return `  - name: ${u.name}
    baseUrl: ${u.baseUrl}
    wireguard: { interface: ${u.storeWg} }
    localAddress: ${u.storeTunnelAddress}
    probe: { url: "${u.probeUrl}" }
${extra}`;
  };
  return `version: 1
store: { id: lab-faults-${lab.id}, region: lab }
gateway:
  listen: { host: ${lab.lan.storeAddress}, port: 8080 }
  admin: { host: ${lab.lan.storeAddress}, port: 9080 }
  devices: { tokensFile: devices.yaml }
paths:
${path('fiber', '')}${path('lte', '    allowClasses: [critical, interactive]\n    metered: true\n')}routes:
${mixRoutes()}
buffer: { path: ./journal.db }
cache: { path: ./cache.db }
${TEST_REPLAY}
link: { downAfter: 3, upAfter: 5, degraded: { rttMs: 100, lossPct: 5, jitterMs: 50 } }
`;
}

