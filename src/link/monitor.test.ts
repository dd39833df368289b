import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../edge-config/load.js';
import type { GatewayConfig } from '../../edge-config/schema.js';
import { LinkMonitor } from './monitor.js';

const silent = pino({ level: 'silent' });

/** A probe target on loopback that answers 200 and counts what it was asked. */
async function pingServer(): Promise<{ url: string; probes(): number; close(): Promise<void> }> {
  let probes = 0;
  const server: Server = createServer((_req, res) => {
    probes++;
    res.end('pong');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    probes: () => probes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port nothing listens on: every probe is refused at once. */
async function deadUrl(): Promise<string> {
  const s = await pingServer();
  await s.close();
  return s.url;
}

/** Paths as YAML list items, through the configuration loader (its defaults applied). */
// Thresholds and deadlines no loaded machine reaches on loopback: these tests are about
// which state a path keeps, not about measuring it (a refused probe fails at once anyway).
function settings(paths: string, link = '{ downAfter: 2, upAfter: 2, degraded: { rttMs: 5000, jitterMs: 5000, lossPct: 50 } }'): GatewayConfig {
  const yaml = `version: 1
store: { id: s, region: r }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
paths:
${paths}
routes:
  - name: all
    match: { path: /* }
    class: normal
buffer: { path: ./journal.db }
cache: { path: ./cache.db }
link: ${link}
`;
  return parseGatewayConfig(yaml, '/tmp/gateway.yaml').config;
}

const path = (name: string, target: string, more = '') =>
  `  - name: ${name}\n    baseUrl: ${target}\n    probe: { url: "${target}/ping", intervalMs: 100, fastIntervalMs: 20, timeoutMs: 2000, minTimeoutMs: 1000 }${more}`;

async function eventually(check: () => void, ms = 3000): Promise<void> {
  const until = performance.now() + ms;
  for (;;) {
    try {
      return check();
    } catch (e) {
      if (performance.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

let monitor: LinkMonitor | undefined;
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await monitor?.stop();
  monitor = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('LinkMonitor.configure', () => {
  it('keeps the state of a path whose name and target are unchanged, and takes in its other settings', async () => {
    const dead = await deadUrl();
    const live = await pingServer();
    servers.push(live);
    const first = settings(path('fiber', dead));
    monitor = new LinkMonitor(first.paths, first.link, silent);
    monitor.start();
    await eventually(() => expect(monitor!.views()[0]!.state).toBe('down'));

    // fiber's classes and metering change, not where it goes; lte is new.
    const next = settings(`${path('fiber', dead, '\n    allowClasses: [critical]\n    metered: true')}\n${path('lte', live.url)}`, '{ downAfter: 2, upAfter: 3, degraded: { rttMs: 5000, jitterMs: 5000, lossPct: 50 } }');
    monitor.configure(next.paths, next.link);
    expect(monitor.views()).toMatchObject([
      { name: 'fiber', state: 'down', allowClasses: ['critical'], metered: true },
      { name: 'lte', state: 'up' },
    ]);
    // Still probed (its target still refuses): DOWN it stays, while lte is probed too.
    await pause(300);
    expect(monitor.views().map((v) => v.state)).toEqual(['down', 'up']);
    expect(live.probes()).toBeGreaterThan(0);
  });

  it('starts afresh a path whose target changed, and stops probing a path that is gone', async () => {
    const dead = await deadUrl();
    const live = await pingServer();
    servers.push(live);
    const first = settings(`${path('fiber', dead)}\n${path('lte', live.url)}`);
    monitor = new LinkMonitor(first.paths, first.link, silent);
    monitor.start();
    await eventually(() => expect(monitor!.views()[0]!.state).toBe('down'));

    // fiber now goes through the live ingress; lte is gone.
    const next = settings(path('fiber', live.url));
    monitor.configure(next.paths, next.link);
    expect(monitor.views()).toMatchObject([{ name: 'fiber', state: 'up' }]);
    await eventually(() => expect(monitor!.status()[0]!.rttMs).toBeDefined());
    expect(monitor.views().map((v) => v.name)).toEqual(['fiber']);

    // Only fiber probes the live ingress now: at its steady 100 ms, not with lte's on top.
    const before = live.probes();
    await pause(500);
    expect(live.probes() - before).toBeLessThanOrEqual(7);
  });
});
