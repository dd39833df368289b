// deploy/traefik: the regional ingress's static and dynamic configuration
// hang together (every router's entrypoints, service and middlewares exist),
// match what the gateway and the hub do (probe URLs, X-Store-Id, the hub's
// connect path), and keep retries off ERP writes. No Traefik binary runs here.
import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

interface Router {
  entryPoints: string[];
  rule: string;
  service: string;
  middlewares?: string[];
  tls?: object;
  priority?: number;
}
interface EntryPoint {
  address: string;
  forwardedHeaders?: { trustedIPs?: string[] };
  http?: { tls?: object };
}
type Middleware = Record<string, Record<string, unknown>>;

const staticConf = parse(readFileSync('deploy/traefik/traefik.yml', 'utf8')) as { entryPoints: Record<string, EntryPoint>; ping?: { manualRouting?: boolean }; providers: { file: { directory: string } } };
const dynamic = parse(readFileSync('deploy/traefik/dynamic/storegw.yml', 'utf8')) as {
  http: { routers: Record<string, Router>; middlewares: Record<string, Middleware>; services: Record<string, { loadBalancer: { servers: { url: string }[] } }> };
};
const { routers, middlewares, services } = dynamic.http;

/** Services Traefik provides itself, by the static option that enables each. */
const internal = (name: string) => (name === 'ping@internal' ? staticConf.ping !== undefined : false);

/** A router's middlewares with chains expanded, names without a provider suffix (all are in this file). */
function middlewareKinds(r: Router): string[] {
  const kinds: string[] = [];
  const visit = (name: string) => {
    const m = middlewares[name.replace(/@file$/, '')];
    if (!m) throw new Error(`middleware ${name} does not exist`);
    for (const [kind, conf] of Object.entries(m)) {
      if (kind === 'chain') (conf.middlewares as string[]).forEach(visit);
      else kinds.push(kind);
    }
  };
  (r.middlewares ?? []).forEach(visit);
  return kinds;
}

const tunnelEntryPoints = Object.entries(staticConf.entryPoints).filter(([name]) => name.startsWith('wg-'));
const inCidrs = (ip: string, cidrs: string[]) => cidrs.some((c) => ipaddr.parse(ip).match(ipaddr.parseCIDR(c)));

describe('Traefik configuration of the regional ingress', () => {
  it('gives every router existing entrypoints, a service and middlewares', () => {
    expect(Object.keys(routers).length).toBeGreaterThan(0);
    for (const [name, r] of Object.entries(routers)) {
      expect(r.entryPoints.length, name).toBeGreaterThan(0);
      for (const ep of r.entryPoints) expect(staticConf.entryPoints[ep], `${name}: entrypoint ${ep}`).toBeDefined();
      expect(services[r.service] !== undefined || internal(r.service), `${name}: service ${r.service}`).toBe(true);
      expect(() => middlewareKinds(r), name).not.toThrow();
      // Backtick-quoted arguments and balanced parentheses: what Traefik's rule parser needs.
      expect((r.rule.match(/`/g) ?? []).length % 2, `${name}: rule quotes`).toBe(0);
      expect(r.rule.replace(/`[^`]*`/g, '').split('').reduce((d, c) => (d < 0 ? d : d + (c === '(' ? 1 : c === ')' ? -1 : 0)), 0), `${name}: rule parentheses`).toBe(0);
      // A TLS router on a plain-HTTP entrypoint would never match.
      if (r.tls) for (const ep of r.entryPoints) expect(staticConf.entryPoints[ep]!.http?.tls, `${name} on ${ep}`).toBeDefined();
    }
    for (const [name, m] of Object.entries(middlewares)) expect(Object.keys(m), name).toHaveLength(1);
  });

  it('never retries an ERP write: retry only where the rule admits nothing but GET and HEAD', () => {
    const erp = Object.entries(routers).filter(([, r]) => r.service === 'erp');
    expect(erp.map(([n]) => n).sort()).toEqual(['erp', 'erp-reads']);
    for (const [name, r] of erp) {
      if (!middlewareKinds(r).includes('retry')) continue;
      expect(r.rule, name).toMatch(/^\(Method\(`GET`\) \|\| Method\(`HEAD`\)\) && [^|]*$/);
    }
    expect(middlewareKinds(routers.erp!)).not.toContain('retry');
    // The catch-all must lose to the read router, or reads would never be retried and the split means nothing.
    expect(routers['erp-reads']!.priority!).toBeGreaterThan(routers.erp!.priority!);
  });

  it('lets only the tunnels in, and rate-limits per store on the header the gateway sets', () => {
    for (const [name, r] of Object.entries(routers).filter(([, r]) => r.entryPoints.some((ep) => ep.startsWith('wg-')) && r.service !== 'ping@internal')) {
      expect(middlewareKinds(r), name).toContain('ipAllowList');
    }
    const ranges = (middlewares['stores-only']!.ipAllowList!.sourceRange as string[]);
    for (const [name, ep] of tunnelEntryPoints) {
      const host = ep.address.replace(/:\d+$/, '');
      expect(inCidrs(host, ranges), `${name} ${host} in stores-only`).toBe(true);
      // Forwarded headers trusted from the tunnels only, so the ERP sees the POS terminal's address.
      expect(ep.forwardedHeaders?.trustedIPs?.every((c) => inCidrs(c.split('/')[0]!, ranges)), name).toBe(true);
      expect(inCidrs(host, ep.forwardedHeaders!.trustedIPs!), name).toBe(true);
    }
    for (const name of ['erp', 'erp-reads']) {
      const limits = (routers[name]!.middlewares ?? []).map((m) => middlewares[m]!.rateLimit).filter(Boolean);
      expect(limits, name).toHaveLength(1);
      expect(limits[0]!.sourceCriterion).toEqual({ requestHeaderName: 'X-Store-Id' });
    }
    expect(readFileSync('src/http/headers.ts', 'utf8')).toMatch(/out\['x-store-id'\] = who\.storeId/);
  });

  it("answers /ping itself on every tunnel entrypoint, where the example gateway configs probe", () => {
    expect(staticConf.ping?.manualRouting).toBe(true);
    const ping = Object.values(routers).filter((r) => r.service === 'ping@internal');
    expect(ping).toHaveLength(1);
    expect(ping[0]!.rule).toBe('Path(`/ping`)');
    expect(ping[0]!.entryPoints.sort()).toEqual(tunnelEntryPoints.map(([n]) => n).sort());
    expect(ping[0]!.priority).toBeGreaterThan(Math.max(...Object.values(routers).filter((r) => r !== ping[0]).map((r) => r.priority ?? 0)));

    const example = parse(readFileSync('edge-config/examples/fiber-lte.yaml', 'utf8')) as { paths: { baseUrl: string; probe: { url: string } }[] };
    const addresses = tunnelEntryPoints.map(([, ep]) => ep.address);
    for (const p of example.paths) {
      const base = new URL(p.baseUrl);
      expect(addresses, p.baseUrl).toContain(`${base.hostname}:${base.port || 80}`);
      expect(new URL(p.probe.url).pathname).toBe('/ping');
      expect(new URL(p.probe.url).host).toBe(base.host);
    }
  });

  it("routes the hub's websocket on the path the hub serves, and its ops API only to the ops networks", async () => {
    const { CONNECT_PATH } = await import('../../src/fleet/hub/connections.js');
    for (const name of ['hub-connect', 'hub-connect-tunnel']) expect(routers[name]!.rule).toContain(`Path(\`${CONNECT_PATH}\`)`);
    expect(middlewareKinds(routers['hub-ops']!)).toEqual(expect.arrayContaining(['ipAllowList', 'headers']));
    // The connect router must win over the ops router on the same host, or gateways would meet the ops allowlist.
    expect(routers['hub-connect']!.priority!).toBeGreaterThan(routers['hub-ops']!.priority!);
    expect(new URL(services.hub!.loadBalancer.servers[0]!.url).port).toBe('7070');
  });
});
