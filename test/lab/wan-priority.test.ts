// deploy/tc/storegw-wan-priority.sh on a real WAN bottleneck: the store's
// uplink (1 Mbit/s) is flooded by other egress of the mini-PC (non-WireGuard
// UDP); with a plain shaper the tunnel's requests queue behind the flood, with
// the script they go first. The comparison is made in the same run.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLab } from './describe-lab.js';
import { Lab } from './topology.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const SCRIPT = fileURLToPath(new URL('../../deploy/tc/storegw-wan-priority.sh', import.meta.url));

// Runs in the store namespace: floods the underlay with UDP to the region's
// discard port while fetching the probe URL through the tunnel, one request
// after another; prints what the fetches saw.
const FLOOD_AND_PROBE = `
const dgram = require('node:dgram');
const { target, probeUrl, probes } = JSON.parse(process.argv[1]);
const sock = dgram.createSocket('udp4');
sock.on('error', () => {});
const payload = Buffer.alloc(1200);
// About 5 Mbit/s, five times what the shaped link carries.
const flood = setInterval(() => { for (let i = 0; i < 26; i++) sock.send(payload, 9, target, () => {}); }, 50);
(async () => {
  await new Promise((r) => setTimeout(r, 1000));
  const ms = []; let failed = 0;
  for (let i = 0; i < probes; i++) {
    const t0 = performance.now();
    try { const r = await fetch(probeUrl, { signal: AbortSignal.timeout(3000) }); await r.text(); if (r.ok) ms.push(performance.now() - t0); else failed++; }
    catch { failed++; }
  }
  clearInterval(flood); sock.close();
  ms.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ failed, median: ms.length ? ms[Math.floor(ms.length / 2)] : null }));
})();
`;

interface Run {
  failed: number;
  median: number | null;
}

describeLab('WAN priority for WireGuard (deploy/tc)', () => {
  let lab: Lab;
  let upstream: Server;

  beforeAll(async () => {
    lab = await Lab.create({ uplinks: ['fiber'] });
    upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, lab.mgmt.hostAddress, r));
    await lab.startNginx(`http://${lab.mgmt.hostAddress}:${(upstream.address() as AddressInfo).port}`);
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
    upstream?.close();
  });

  const floodRun = async (): Promise<Run> => {
    const u = lab.uplinks.fiber!;
    const { stdout } = await lab.exec('store', process.execPath, ['-e', FLOOD_AND_PROBE, JSON.stringify({ target: u.regionUnderlayAddress, probeUrl: u.probeUrl, probes: 10 })], { timeoutMs: 60_000 });
    return JSON.parse(stdout) as Run;
  };

  it('puts the tunnel ahead of a flood of other egress on a full uplink', async () => {
    const u = lab.uplinks.fiber!;
    // A plain 1 Mbit/s bottleneck with a 300 ms queue: everyone waits in one line.
    await lab.shape('fiber', '1mbit', { direction: 'up', latencyMs: 300 });
    const plain = await floodRun();
    await lab.unshape('fiber');

    await lab.exec('store', SCRIPT, ['apply', u.storeUnderlay, '1mbit', String(u.port)]);
    const prioritised = await floodRun();
    const { stdout: classes } = await lab.exec('store', SCRIPT, ['show', u.storeUnderlay]);
    await lab.exec('store', SCRIPT, ['remove', u.storeUnderlay]);

    expect(prioritised.failed).toBe(0);
    expect(prioritised.median).not.toBeNull();
    // Every probe crossed the plain queue behind the flood; with the script none did.
    if (plain.median !== null) expect(prioritised.median!).toBeLessThan(plain.median / 2);
    else expect(plain.failed).toBe(10);
    // The kernel's own counters: the flood was dropped in the default class, WireGuard never.
    const dropped = (cls: string) => Number(new RegExp(`class htb ${cls} [^]*?dropped (\\d+)`).exec(classes)?.[1]);
    const sent = (cls: string) => Number(new RegExp(`class htb ${cls} [^]*?Sent (\\d+) bytes`).exec(classes)?.[1]);
    expect(sent('1:10')).toBeGreaterThan(0);
    expect(dropped('1:10')).toBe(0);
    expect(dropped('1:20')).toBeGreaterThan(0);
  }, 120_000);

  it('refuses bad arguments without touching the interface', async () => {
    const u = lab.uplinks.fiber!;
    await expect(lab.exec('store', SCRIPT, ['apply', u.storeUnderlay, 'fast', '51820'])).rejects.toThrow(/not a tc rate/);
    await expect(lab.exec('store', SCRIPT, ['apply', `${u.storeUnderlay};reboot`, '1mbit', '51820'])).rejects.toThrow(/not an interface name/);
    await expect(lab.exec('store', SCRIPT, ['apply', u.storeUnderlay, '1mbit', '70000'])).rejects.toThrow(/not a UDP port/);
    const { stdout } = await lab.exec('store', 'tc', ['qdisc', 'show', 'dev', u.storeUnderlay]);
    expect(stdout).not.toMatch(/htb/);
  });
});
