// WireGuard state of an uplink: readWireGuard() asks wireguard-tools for one
// interface's dump (the only I/O here), and WireGuardTracker judges successive
// dumps, purely, for throughput and whether the tunnel still carries traffic.
import { execFile, type ExecFileException } from 'node:child_process';
import { parseWgDump, type WgDump } from './wg-dump.js';

export type WgReadFailure = 'invalid-interface' | 'not-installed' | 'no-interface' | 'timeout' | 'failed' | 'malformed';

export type WgReadResult = { ok: true; dump: WgDump } | { ok: false; failure: WgReadFailure; reason: string };

export interface WgReadOptions {
  timeoutMs: number;
  /** The wg binary: a name looked up on PATH, or a path. */
  command?: string;
}

// The config schema's rule: a Linux interface name (at most IFNAMSIZ - 1
// characters) from a set that needs no quoting anywhere. `all` passes it but
// is a keyword of `wg show`, which then dumps every interface in another format.
const INTERFACE_NAME = /^[A-Za-z0-9_=+.-]{1,15}$/;

/** `wg show <iface> dump`, run without a shell, parsed strictly. Never rejects. */
export function readWireGuard(iface: string, { timeoutMs, command = 'wg' }: WgReadOptions): Promise<WgReadResult> {
  if (!INTERFACE_NAME.test(iface) || iface === 'all') {
    return Promise.resolve(failed('invalid-interface', `not a WireGuard interface name: ${JSON.stringify(iface)}`));
  }
  const what = `wg show ${iface} dump`;
  return new Promise((resolve) => {
    execFile(command, ['show', iface, 'dump'], { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) return resolve(explain(error, stderr, { what, iface, command, timeoutMs }));
      const parsed = parseWgDump(stdout);
      resolve(parsed.ok ? parsed : failed('malformed', `${what}: ${parsed.reason}`));
    });
  });
}

function explain(
  error: ExecFileException,
  stderr: string,
  { what, iface, command, timeoutMs }: { what: string; iface: string; command: string; timeoutMs: number },
): WgReadResult {
  if (error.code === 'ENOENT') return failed('not-installed', `wg (wireguard-tools) is not installed (${command} not found)`);
  if (error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return failed('failed', `${what}: output too large`);
  // Node sets `killed` only for a child it killed itself, here on timeout.
  if (error.killed) return failed('timeout', `${what} timed out after ${timeoutMs} ms`);
  // wg's own message, e.g. "Unable to access interface: No such device"; it
  // reports errors only, never key material.
  const message = stderr.trim().split('\n')[0]?.slice(0, 200) || (error.signal ? `killed by ${error.signal}` : `exit ${error.code}`);
  // "No such device" comes from the kernel module; without the module (a
  // container, a userspace-only host) and without a wireguard-go socket of that
  // name, wg reports the netlink family missing as "Protocol not supported".
  if (/No such device|Protocol not supported/.test(message)) {
    return failed('no-interface', `no WireGuard interface ${iface} (wg: ${message})`);
  }
  return failed('failed', `${what} failed: ${message}`);
}

function failed(failure: WgReadFailure, reason: string): WgReadResult {
  return { ok: false, failure, reason };
}

/** One reading. atMs is wall-clock epoch ms, as the handshake times in the dump are epoch seconds. */
export interface WgSample {
  atMs: number;
  dump: WgDump;
}

export interface WgHealth {
  /** Seconds since the newest handshake with any peer; undefined if none ever completed. */
  handshakeAgeS: number | undefined;
  /** Bytes per second, all peers together, since the previous sample; undefined for the first. */
  rxBps: number | undefined;
  txBps: number | undefined;
  /** A counter went backwards since the previous sample: the interface or a peer was re-created. */
  counterReset: boolean;
  /** Sending, yet no handshake within STALE_HANDSHAKE_S: the tunnel is not working. */
  stale: boolean;
}

// WireGuard renews session keys every 120 s while packets flow and refuses a
// key older than 180 s (REKEY_AFTER_TIME and REJECT_AFTER_TIME in the
// protocol), and its unanswered handshake initiations count as tx too. So a
// newest handshake older than this while tx grows means nothing gets through;
// with no traffic an old handshake is just an idle tunnel.
export const STALE_HANDSHAKE_S = 180;

/** Judges successive samples of one interface. Pure: the caller reads and times them. */
export class WireGuardTracker {
  #previous: WgSample | undefined;

  observe(sample: WgSample): WgHealth {
    const previous = this.#previous;
    this.#previous = sample;
    const handshakeAgeS = handshakeAge(sample);
    if (!previous) return { handshakeAgeS, rxBps: undefined, txBps: undefined, counterReset: false, stale: false };

    const { rx, tx, counterReset } = transferred(previous.dump, sample.dump);
    const seconds = (sample.atMs - previous.atMs) / 1000;
    // A wall clock stepped backwards leaves no interval to divide by.
    const rate = (bytes: number) => (seconds > 0 ? bytes / seconds : undefined);
    const stale = tx > 0 && (handshakeAgeS === undefined || handshakeAgeS > STALE_HANDSHAKE_S);
    return { handshakeAgeS, rxBps: rate(rx), txBps: rate(tx), counterReset, stale };
  }
}

function handshakeAge({ atMs, dump }: WgSample): number | undefined {
  const newest = Math.max(0, ...dump.peers.map((p) => p.latestHandshakeS ?? 0));
  // Clamped: the wall clock may have stepped back behind a handshake it stamped.
  return newest === 0 ? undefined : Math.max(0, atMs / 1000 - newest);
}

/** Bytes moved between two dumps, peer by peer (peers matched by public key). */
function transferred(before: WgDump, after: WgDump): { rx: number; tx: number; counterReset: boolean } {
  const earlier = new Map(before.peers.map((p) => [p.publicKey, p]));
  let counterReset = false;
  // A counter below its previous value restarted from zero within the interval,
  // so all of it is new (as Prometheus treats counter resets); a peer added
  // since the last sample likewise started from zero.
  const delta = (now: number, then = 0) => {
    if (now >= then) return now - then;
    counterReset = true;
    return now;
  };
  let rx = 0;
  let tx = 0;
  for (const peer of after.peers) {
    const was = earlier.get(peer.publicKey);
    rx += delta(peer.rxBytes, was?.rxBytes);
    tx += delta(peer.txBytes, was?.txBytes);
  }
  return { rx, tx, counterReset };
}
