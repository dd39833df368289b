// The lab topology itself: tunnels carry traffic, nginx in the region proxies
// to the test's own upstream, and cut/restore, loss and shape do what they say.
// Needs root and wireguard-go etc. (see test/lab/README.md); elsewhere it is
// skipped with the reason, and in CI it fails with it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLab, isCI } from './describe-lab.js';
import { Lab, labSkipReason, type LabEnvironment } from './topology.js';

describe('labSkipReason and CI detection', () => {
  const env = (o: Partial<LabEnvironment> = {}): LabEnvironment => ({ platform: 'linux', uid: 0, has: () => true, tunDevice: true, ...o });

  it('is undefined for root on Linux with the tools, and names what is missing otherwise', () => {
    expect(labSkipReason(env())).toBeUndefined();
    expect(labSkipReason(env({ uid: 1000 }))).toBe('lab tests need root (uid 1000)');
    expect(labSkipReason(env({ platform: 'darwin' }))).toMatch(/need Linux/);
    expect(labSkipReason(env({ has: (c) => c !== 'wireguard-go' }))).toBe(
      'wireguard-go is not installed: apt install iproute2 wireguard-go wireguard-tools nftables nginx-light',
    );
    expect(labSkipReason(env({ has: (c) => c !== 'nft' && c !== 'nginx' }))).toMatch(/^nft, nginx are not installed: apt install/);
    expect(labSkipReason(env({ tunDevice: false }))).toMatch(/\/dev\/net\/tun/);
  });

  it('treats CI=true/1/anything as CI and CI=false/0/empty/unset as not', () => {
    expect(isCI({ CI: 'true' })).toBe(true);
    expect(isCI({ CI: '1' })).toBe(true);
    expect(isCI({ CI: 'false' })).toBe(false);
    expect(isCI({ CI: '0' })).toBe(false);
    expect(isCI({ CI: '' })).toBe(false);
    expect(isCI({})).toBe(false);
  });
});

const BLOB = Buffer.alloc(200 * 1024, 'x');

describeLab('lab topology: store and region namespaces, WireGuard over veth underlays', () => {
  let lab: Lab;
  let upstream: Server;
  const seen: { url: string; uplink: string | undefined }[] = [];

  beforeAll(async () => {
    lab = await Lab.create();
    upstream = createServer((req, res) => {
      seen.push({ url: req.url ?? '', uplink: req.headers['x-lab-uplink'] as string | undefined });
      if (req.url === '/blob') res.end(BLOB);
      else res.end(`upstream saw ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, lab.mgmt.hostAddress, r));
    await lab.startNginx(`http://${lab.mgmt.hostAddress}:${(upstream.address() as AddressInfo).port}`);
  });

  afterAll(async () => {
    await lab?.destroy();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  it('answers pong on each probeUrl from the store namespace, every tunnel on its own subnet', async () => {
    const { fiber, lte } = lab.uplinks;
    expect(fiber!.regionTunnelAddress).not.toBe(lte!.regionTunnelAddress);
    for (const u of [fiber!, lte!]) {
      const r = await lab.httpFromStore(u.probeUrl, { timeoutMs: 1500 });
      expect(r, u.name).toMatchObject({ ok: true, status: 200, body: 'pong\n' });
    }
    // The root namespace has no way into the tunnels: only the LAN and management /30s.
    const { stdout } = await lab.exec('host', 'ip', ['route', 'get', fiber!.regionTunnelAddress]).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
    expect(stdout).not.toContain(`sgw${lab.id}-`);
  });

  it('carries baseUrl requests through the right tunnel to the upstream in the test process', async () => {
    for (const name of ['fiber', 'lte']) {
      const r = await lab.httpFromStore(`${lab.uplinks[name]!.baseUrl}/x`, { timeoutMs: 3000 });
      expect(r).toMatchObject({ ok: true, status: 200, body: 'upstream saw /x' });
      expect(seen.at(-1)).toEqual({ url: '/x', uplink: name });
    }
  });

  it('has a WireGuard handshake on every uplink', async () => {
    for (const u of Object.values(lab.uplinks)) {
      const { stdout } = await lab.exec('store', 'wg', ['show', u.storeWg, 'dump']);
      // Line 1 is the interface; then one line per peer: ... endpoint allowed-ips latest-handshake rx tx keepalive.
      const peer = stdout.trim().split('\n')[1]!.split('\t');
      expect(peer[2]).toBe(`${u.regionUnderlayAddress}:${u.port}`);
      expect(Number(peer[4])).toBeGreaterThan(0);
    }
  });

  it('cut takes fiber down while lte answers, and restore brings fiber back within seconds', async () => {
    const { fiber, lte } = lab.uplinks;
    await lab.cut('fiber');
    const [f, l] = await Promise.all([lab.httpFromStore(fiber!.probeUrl, { timeoutMs: 1500 }), lab.httpFromStore(lte!.probeUrl, { timeoutMs: 1500 })]);
    expect(f.ok).toBe(false);
    expect(l).toMatchObject({ ok: true, body: 'pong\n' });

    await lab.restore('fiber');
    const t0 = Date.now();
    let back = false;
    while (!back && Date.now() - t0 < 8000) back = (await lab.httpFromStore(fiber!.probeUrl, { timeoutMs: 1000 })).ok;
    expect(back).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('loss 100 blocks lte and loss 0 unblocks it', async () => {
    const lte = lab.uplinks.lte!;
    await lab.loss('lte', 100);
    expect((await lab.httpFromStore(lte.probeUrl, { timeoutMs: 1500 })).ok).toBe(false);
    expect((await lab.httpFromStore(lab.uplinks.fiber!.probeUrl, { timeoutMs: 1500 })).ok).toBe(true);
    await lab.loss('lte', 0);
    await lab.waitFromStore([lte.probeUrl], 5000);
    const { stdout } = await lab.exec('region', 'nft', ['list', 'ruleset']);
    expect(stdout).not.toContain('sgwlab');
  });

  it('shape slows a 200 KB download through fiber compared with unshaped lte, and unshaping undoes it', async () => {
    const get = async (name: string) => {
      const r = await lab.httpFromStore(`${lab.uplinks[name]!.baseUrl}/blob`, { timeoutMs: 15_000 });
      expect(r).toMatchObject({ ok: true, status: 200, bytes: BLOB.length });
      return Math.max(r.ms, 1);
    };
    await get('lte'); // warm nginx's upstream connection
    await lab.shape('fiber', '1mbit');
    const shaped = await get('fiber');
    const lte = await get('lte');
    // 200 KB at 1 Mbit/s is ~1.6 s; unshaped it is tens of ms. Be generous.
    expect(shaped / lte).toBeGreaterThan(4);
    await lab.shape('fiber', '');
    const unshaped = await get('fiber');
    expect(unshaped * 2).toBeLessThan(shaped);
  });

  it('gives a second lab alongside its own id, names and addresses', async () => {
    const other = await Lab.create({ uplinks: ['sat'] });
    try {
      expect(other.id).not.toBe(lab.id);
      expect(other.lan.hostAddress).not.toBe(lab.lan.hostAddress);
      expect(other.uplinks.sat!.storeWg).not.toBe(lab.uplinks.fiber!.storeWg);
      expect(await other.latestHandshake('sat')).toBeGreaterThan(0);
    } finally {
      await other.destroy();
    }
  });

  it('reaps what a crashed owner left behind: namespace, processes in it, UAPI socket, pid file', async () => {
    // Forge the leftovers of a lab whose owner died without destroy(), at a high id nothing else uses.
    let id = 0;
    for (let tries = 0; id === 0; tries++) {
      const candidate = 150 + Math.floor(Math.random() * 50);
      const added = await lab.exec('host', 'ip', ['netns', 'add', `sgwlab${candidate}-store`]).then(() => true, () => false);
      if (added) id = candidate;
      else if (tries > 20) throw new Error('could not forge a leftover namespace');
    }
    const ns = `sgwlab${id}-store`;
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    const orphan = spawn('ip', ['netns', 'exec', ns, 'sleep', '60'], { detached: true, stdio: 'ignore' });
    await fs.mkdir('/run/wireguard', { recursive: true });
    await fs.writeFile(`/run/wireguard/sgw${id}-w0.sock`, '');
    await fs.writeFile(`/run/sgwlab/${id}.pid`, JSON.stringify({ pid: dead.pid, start: '1' }));
    const orphanGone = new Promise((r) => orphan.once('exit', r));

    const other = await Lab.create({ uplinks: ['a'] });
    await other.destroy();
    await orphanGone;
    expect((await lab.exec('host', 'ip', ['netns', 'list'])).stdout).not.toContain(ns);
    expect(existsSync(`/run/wireguard/sgw${id}-w0.sock`)).toBe(false);
    expect(existsSync(`/run/sgwlab/${id}.pid`)).toBe(false);
  });

  it('destroy leaves no namespace, process, socket, veth or folder, and can be called again', async () => {
    const pids = [...lab.spawnedPids];
    expect(pids.length).toBeGreaterThanOrEqual(5); // 4 wireguard-go + nginx
    await lab.destroy();
    await lab.destroy();
    const { stdout } = await lab.exec('host', 'ip', ['netns', 'list']);
    expect(stdout).not.toMatch(new RegExp(`\\bsgwlab${lab.id}-`));
    const sockets = await fs.readdir('/run/wireguard').catch(() => [] as string[]);
    expect(sockets.filter((s) => s.startsWith(`sgw${lab.id}-`))).toEqual([]);
    for (const pid of pids) expect(() => process.kill(pid, 0), `pid ${pid}`).toThrow(/ESRCH/);
    await expect(lab.exec('host', 'ip', ['link', 'show', lab.lan.hostIface])).rejects.toThrow();
    expect(existsSync(lab.dir)).toBe(false);
    expect(existsSync(`/run/sgwlab/${lab.id}.pid`)).toBe(false);
  });
});
