import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWgDump, type WgDump, type WgPeer } from './wg-dump.js';
import { WireGuardTracker, readWireGuard } from './wireguard.js';

const KEY_A = '3eA94FRLL0svGKw5IulrhkTscaZscEKlqmA6mOJkCjw=';
const KEY_B = '8l87pV++ue6m/wBKH56YbMyp0aEUhhmqF5ywiCtLVlU=';
const NOW_S = 1_800_000_000;

function peer(publicKey: string, over: Partial<WgPeer> = {}): WgPeer {
  return {
    publicKey,
    endpoint: '10.199.0.2:51820',
    allowedIps: ['10.200.0.2/32'],
    latestHandshakeS: undefined,
    rxBytes: 0,
    txBytes: 0,
    persistentKeepaliveS: undefined,
    ...over,
  };
}

const dump = (...peers: WgPeer[]): WgDump => ({ listenPort: 51820, fwmark: undefined, peers });
const at = (seconds: number, d: WgDump) => ({ atMs: seconds * 1000, dump: d });

function fixture(name: string): WgDump {
  const parsed = parseWgDump(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.dump;
}

describe('WireGuardTracker throughput', () => {
  it('has no rates for the first sample, then bytes per second from counter deltas', () => {
    const t = new WireGuardTracker();
    expect(t.observe(at(NOW_S, dump(peer(KEY_A, { rxBytes: 1000, txBytes: 2000 }))))).toMatchObject({
      rxBps: undefined,
      txBps: undefined,
    });
    expect(t.observe(at(NOW_S + 2, dump(peer(KEY_A, { rxBytes: 3000, txBytes: 2500 }))))).toEqual({
      handshakeAgeS: undefined,
      rxBps: 1000,
      txBps: 250,
      counterReset: false,
      stale: true,
    });
  });

  it('sums peers, counts a new peer from zero and forgets a removed one', () => {
    const t = new WireGuardTracker();
    t.observe(at(NOW_S, dump(peer(KEY_A, { rxBytes: 100, txBytes: 100 }))));
    const h = t.observe(at(NOW_S + 10, dump(peer(KEY_A, { rxBytes: 600, txBytes: 200 }), peer(KEY_B, { rxBytes: 500, txBytes: 50 }))));
    expect([h.rxBps, h.txBps, h.counterReset]).toEqual([100, 15, false]);
    const gone = t.observe(at(NOW_S + 20, dump(peer(KEY_B, { rxBytes: 700, txBytes: 50 }))));
    expect([gone.rxBps, gone.txBps, gone.counterReset]).toEqual([20, 0, false]);
  });

  it('treats a counter going backwards as a restart from zero: flagged, never negative', () => {
    const t = new WireGuardTracker();
    t.observe(at(NOW_S, dump(peer(KEY_A, { rxBytes: 10_000, txBytes: 20_000 }))));
    const reset = t.observe(at(NOW_S + 4, dump(peer(KEY_A, { rxBytes: 400, txBytes: 0 }))));
    expect(reset).toMatchObject({ rxBps: 100, txBps: 0, counterReset: true });
    const after = t.observe(at(NOW_S + 8, dump(peer(KEY_A, { rxBytes: 800, txBytes: 40 }))));
    expect(after).toMatchObject({ rxBps: 100, txBps: 10, counterReset: false });
  });

  it('gives no rate when the clock has not moved forwards', () => {
    const t = new WireGuardTracker();
    t.observe(at(NOW_S, dump(peer(KEY_A))));
    expect(t.observe(at(NOW_S - 1, dump(peer(KEY_A, { rxBytes: 10 }))))).toMatchObject({ rxBps: undefined, txBps: undefined });
  });

  it('follows the captured tunnel from first initiation to handshake', () => {
    const t = new WireGuardTracker();
    // Captured 8 s apart; the second dump was taken at epoch 1795458616.
    t.observe(at(1795458608, fixture('wg-dump-no-handshake.txt')));
    expect(t.observe(at(1795458616, fixture('wg-dump-two-peers.txt')))).toEqual({
      handshakeAgeS: 8,
      rxBps: 5532 / 8,
      txBps: (5768 - 148) / 8,
      counterReset: false,
      stale: false,
    });
  });
});

describe('WireGuardTracker stale verdict', () => {
  const judge = (handshakeAgoS: number | undefined, txBefore: number, txAfter: number, rxAfter = 0) => {
    const t = new WireGuardTracker();
    const latestHandshakeS = handshakeAgoS === undefined ? undefined : NOW_S - handshakeAgoS;
    t.observe(at(NOW_S - 10, dump(peer(KEY_A, { latestHandshakeS, txBytes: txBefore }))));
    return t.observe(at(NOW_S, dump(peer(KEY_A, { latestHandshakeS, txBytes: txAfter, rxBytes: rxAfter }))));
  };

  it('an old handshake with no traffic is an idle tunnel, not a stale one', () => {
    expect(judge(600, 5000, 5000)).toMatchObject({ handshakeAgeS: 600, stale: false });
    expect(judge(600, 5000, 5000, 900)).toMatchObject({ stale: false });
  });

  it('an old handshake while tx grows is stale', () => {
    expect(judge(600, 5000, 5148)).toMatchObject({ handshakeAgeS: 600, stale: true });
  });

  it('no handshake ever while tx grows is stale', () => {
    expect(judge(undefined, 148, 296)).toMatchObject({ handshakeAgeS: undefined, stale: true });
  });

  it('draws the line at 180 s', () => {
    expect(judge(30, 0, 1000).stale).toBe(false);
    expect(judge(180, 0, 1000).stale).toBe(false);
    expect(judge(181, 0, 1000).stale).toBe(true);
  });

  it('takes the newest handshake among peers and never calls a first sample stale', () => {
    const t = new WireGuardTracker();
    const first = t.observe(
      at(NOW_S, dump(peer(KEY_A, { latestHandshakeS: NOW_S - 900, txBytes: 1 }), peer(KEY_B, { latestHandshakeS: NOW_S - 20 }))),
    );
    expect(first).toMatchObject({ handshakeAgeS: 20, stale: false });
  });
});

describe('readWireGuard without a real interface', () => {
  const dir = mkdtempSync(join(tmpdir(), 'storegw-wg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in for wg: a shell script that ignores its arguments. */
  function fakeWg(name: string, body: string): string {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  it('refuses a bad interface name without running anything', async () => {
    // Had it tried to run the missing binary, the failure would be not-installed.
    for (const name of ['', 'x'.repeat(16), 'wg0; reboot', '$(id)', 'wg 0', '../wg0', 'wg0\n', 'all']) {
      const r = await readWireGuard(name, { timeoutMs: 1000, command: join(dir, 'never-created') });
      expect(r).toEqual({ ok: false, failure: 'invalid-interface', reason: `not a WireGuard interface name: ${JSON.stringify(name)}` });
    }
  });

  it('says so when wg is not installed', async () => {
    expect(await readWireGuard('wg0', { timeoutMs: 1000, command: join(dir, 'no-such-wg') })).toMatchObject({
      ok: false,
      failure: 'not-installed',
      reason: expect.stringContaining('wg (wireguard-tools) is not installed'),
    });
  });

  it('stops waiting after the timeout', async () => {
    const slow = fakeWg('slow-wg', 'exec sleep 10');
    const started = Date.now();
    expect(await readWireGuard('wg0', { timeoutMs: 200, command: slow })).toEqual({
      ok: false,
      failure: 'timeout',
      reason: 'wg show wg0 dump timed out after 200 ms',
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports wg errors and unparsable output', async () => {
    const missing = fakeWg('missing-wg', 'echo "Unable to access interface: No such device" >&2; exit 1');
    expect(await readWireGuard('wg9', { timeoutMs: 5000, command: missing })).toEqual({
      ok: false,
      failure: 'no-interface',
      reason: 'no WireGuard interface wg9 (wg: Unable to access interface: No such device)',
    });
    const garbage = fakeWg('garbage-wg', 'printf "hello\\n"');
    expect(await readWireGuard('wg0', { timeoutMs: 5000, command: garbage })).toEqual({
      ok: false,
      failure: 'malformed',
      reason: 'wg show wg0 dump: line 1: expected 4 fields, got 1',
    });
  });

  it('parses what wg prints', async () => {
    const captured = fakeWg('captured-wg', `exec cat '${new URL('./fixtures/wg-dump-responder.txt', import.meta.url).pathname}'`);
    expect(await readWireGuard('wg0', { timeoutMs: 5000, command: captured })).toEqual({
      ok: true,
      dump: fixture('wg-dump-responder.txt'),
    });
  });
});

function missingForRealTest(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  const onPath = (cmd: string) =>
    (process.env.PATH ?? '').split(':').some((dir) => {
      try {
        accessSync(join(dir, cmd), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  const absent = ['wg', 'wireguard-go', 'ip'].filter((cmd) => !onPath(cmd));
  return absent.length > 0 ? `needs ${absent.join(', ')} on PATH` : undefined;
}

const skipReason = missingForRealTest();

describe.skipIf(skipReason !== undefined)(
  `readWireGuard on a real wireguard-go interface${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    // The pid keeps names unique across concurrent runs; wireguard-go's UAPI
    // sockets in /var/run/wireguard are shared by every namespace.
    const ns = `wgrt${process.pid}`;
    const iface = `wgrt${process.pid}`;
    const listenPort = 47_111;
    const keyDir = mkdtempSync(join(tmpdir(), 'storegw-wgkeys-'));
    let daemon: ChildProcess | undefined;
    let nsCreated = false;
    let privateKey = '';
    let presharedKey = '';

    const wg = (...args: string[]) => execFileSync('wg', args, { encoding: 'utf8' });

    async function cleanup(): Promise<void> {
      if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
        const exited = once(daemon, 'exit');
        daemon.kill('SIGTERM');
        await Promise.race([exited, sleep(3000).then(() => daemon?.kill('SIGKILL'))]);
      }
      if (nsCreated) execFileSync('ip', ['netns', 'del', ns]);
      nsCreated = false;
      rmSync(keyDir, { recursive: true, force: true });
    }

    beforeAll(async () => {
      try {
        execFileSync('ip', ['netns', 'add', ns]);
        nsCreated = true;
        // In the foreground (-f) the spawned process is wireguard-go itself, as
        // `ip netns exec` and `env` exec rather than fork: its pid is ours to kill.
        daemon = spawn(
          'ip',
          ['netns', 'exec', ns, 'env', 'WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1', 'wireguard-go', '-f', iface],
          { stdio: 'ignore' },
        );
        const socket = `/var/run/wireguard/${iface}.sock`;
        for (let i = 0; !existsSync(socket); i++) {
          if (i === 100 || daemon.exitCode !== null) throw new Error(`wireguard-go did not create ${socket}`);
          await sleep(50);
        }
        privateKey = wg('genkey').trim();
        presharedKey = wg('genpsk').trim();
        const peerKey = execFileSync('wg', ['pubkey'], { input: wg('genkey'), encoding: 'utf8' }).trim();
        writeFileSync(join(keyDir, 'private'), privateKey, { mode: 0o600 });
        writeFileSync(join(keyDir, 'psk'), presharedKey, { mode: 0o600 });
        // 192.0.2.1 is TEST-NET-1, and nothing is sent anyway: no keepalive, no traffic.
        wg('set', iface, 'listen-port', String(listenPort), 'private-key', join(keyDir, 'private'));
        wg('set', iface, 'peer', peerKey, 'preshared-key', join(keyDir, 'psk'), 'endpoint', '192.0.2.1:51820', 'allowed-ips', '10.201.0.2/32');
      } catch (e) {
        await cleanup();
        throw e;
      }
    });

    afterAll(cleanup);

    it('reads the listen port and peer it was given, and no secret', async () => {
      const r = await readWireGuard(iface, { timeoutMs: 5000 });
      if (!r.ok) throw new Error(r.reason);
      expect(r.dump.listenPort).toBe(listenPort);
      expect(r.dump.peers).toMatchObject([{ endpoint: '192.0.2.1:51820', allowedIps: ['10.201.0.2/32'], latestHandshakeS: undefined }]);
      expect(JSON.stringify(r)).not.toContain(privateKey);
      expect(JSON.stringify(r)).not.toContain(presharedKey);
    });

    it('says clearly that an interface does not exist', async () => {
      const r = await readWireGuard(`wgnx${process.pid}`, { timeoutMs: 5000 });
      expect(r).toMatchObject({ ok: false, failure: 'no-interface', reason: expect.stringContaining(`no WireGuard interface wgnx${process.pid}`) });
    });
  },
);
