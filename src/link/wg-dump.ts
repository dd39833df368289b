// Strict parser of `wg show <iface> dump` (wireguard-tools, see `man wg`).
// The dump carries the interface's private key and every peer's preshared
// key: those columns are checked for shape and then dropped, and no failure
// reason ever quotes a field value, so a secret cannot leak into a log or
// status through this module. Pure.
import { isIP, isIPv4, isIPv6 } from 'node:net';

export interface WgPeer {
  publicKey: string;
  /** `ip:port` or `[ipv6]:port`; undefined until the peer is configured or heard from. */
  endpoint: string | undefined;
  /** CIDRs as wg prints them; empty when none. */
  allowedIps: string[];
  /** Epoch seconds of the newest completed handshake; undefined if none yet. */
  latestHandshakeS: number | undefined;
  rxBytes: number;
  txBytes: number;
  /** Undefined when persistent keepalive is off. */
  persistentKeepaliveS: number | undefined;
}

export interface WgDump {
  listenPort: number;
  /** Undefined when off. */
  fwmark: number | undefined;
  peers: WgPeer[];
}

export type WgDumpResult = { ok: true; dump: WgDump } | { ok: false; reason: string };

const NONE = '(none)';
const OFF = 'off';
// 32 bytes in base64: 43 characters, the last carrying 4 bits and two zero
// bits, then one '='.
const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const INTERFACE_FIELDS = ['private-key', 'public-key', 'listen-port', 'fwmark'] as const;
const PEER_FIELDS = [
  'public-key',
  'preshared-key',
  'endpoint',
  'allowed-ips',
  'latest-handshake',
  'transfer-rx',
  'transfer-tx',
  'persistent-keepalive',
] as const;

class DumpError extends Error {}

export function parseWgDump(text: string): WgDumpResult {
  try {
    return { ok: true, dump: parse(text) };
  } catch (e) {
    if (e instanceof DumpError) return { ok: false, reason: e.message };
    throw e;
  }
}

function parse(text: string): WgDump {
  if (text === '') throw new DumpError('empty output');
  // wg ends every line with a newline; output without one was cut short.
  if (!text.endsWith('\n')) throw new DumpError('output does not end with a newline (truncated?)');
  const [first = '', ...rest] = text.slice(0, -1).split('\n');
  const iface = fields(first, 1);

  const [privateKey, publicKey, listenPort, fwmark] = iface.values(INTERFACE_FIELDS);
  // The private key is only checked, so that a shifted column cannot pass.
  iface.check(privateKey === NONE || KEY.test(privateKey), 'private-key', 'is not a key');
  iface.check(publicKey === NONE || KEY.test(publicKey), 'public-key', 'is not a key');
  return {
    listenPort: iface.integer(listenPort, 'listen-port', 65_535),
    fwmark: fwmark === OFF ? undefined : iface.hex32(fwmark, 'fwmark'),
    peers: rest.map((line, i) => peer(fields(line, i + 2))),
  };
}

function peer(line: Line): WgPeer {
  const [publicKey, presharedKey, endpoint, allowedIps, handshake, rx, tx, keepalive] = line.values(PEER_FIELDS);
  line.check(KEY.test(publicKey), 'public-key', 'is not a key');
  line.check(presharedKey === NONE || KEY.test(presharedKey), 'preshared-key', 'is not a key');
  line.check(endpoint === NONE || isEndpoint(endpoint), 'endpoint', 'is not ip:port or [ipv6]:port');
  const ips = allowedIps === NONE ? [] : allowedIps.split(',');
  line.check(ips.every(isCidr), 'allowed-ips', 'is not a comma-separated list of CIDRs');
  const latest = line.integer(handshake, 'latest-handshake');
  return {
    publicKey,
    endpoint: endpoint === NONE ? undefined : endpoint,
    allowedIps: ips,
    latestHandshakeS: latest === 0 ? undefined : latest,
    rxBytes: line.integer(rx, 'transfer-rx'),
    txBytes: line.integer(tx, 'transfer-tx'),
    persistentKeepaliveS: keepalive === OFF ? undefined : line.integer(keepalive, 'persistent-keepalive', 65_535),
  };
}

interface Line {
  values<const N extends readonly string[]>(names: N): { [K in keyof N]: string };
  check(ok: boolean, field: string, problem: string): void;
  integer(value: string, field: string, max?: number): number;
  hex32(value: string, field: string): number;
}

function fields(text: string, lineNo: number): Line {
  const fail = (message: string): never => {
    throw new DumpError(`line ${lineNo}: ${message}`);
  };
  const parts = text.split('\t');
  return {
    values(names) {
      if (parts.length !== names.length) fail(`expected ${names.length} fields, got ${parts.length}`);
      const empty = parts.indexOf('');
      if (empty >= 0) fail(`${names[empty]} is empty`);
      return parts as { [K in keyof typeof names]: string };
    },
    check(ok, field, problem) {
      if (!ok) fail(`${field} ${problem}`);
    },
    // Byte counters are u64 in the kernel. Number keeps them exact up to 2^53
    // bytes (8 PiB): over two years of a saturated 1 Gbit/s link, and counters
    // restart with the interface. Beyond that the value is refused rather than
    // silently rounded. Number, not BigInt, because the dump goes into JSON
    // status, which cannot carry BigInt.
    integer(value, field, max = Number.MAX_SAFE_INTEGER) {
      if (!/^\d+$/.test(value)) return fail(`${field} is not a non-negative decimal integer`);
      const n = Number(value);
      if (n > max) fail(`${field} exceeds ${max}`);
      return n;
    },
    // wg prints a set fwmark as 0x-prefixed hex.
    hex32(value, field) {
      if (!/^0x[0-9a-f]{1,8}$/.test(value)) return fail(`${field} is neither "off" nor a 32-bit 0x hex number`);
      return Number.parseInt(value.slice(2), 16);
    },
  };
}

function isEndpoint(value: string): boolean {
  const colon = value.lastIndexOf(':');
  if (colon < 0) return false;
  const host = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535) return false;
  if (host.startsWith('[') && host.endsWith(']')) {
    // A link-local peer address carries its zone: [fe80::1%eth0].
    return isIPv6(host.slice(1, -1).replace(/%[^%\]]+$/, ''));
  }
  return isIPv4(host);
}

function isCidr(value: string): boolean {
  const [addr = '', prefix = '', ...rest] = value.split('/');
  const family = isIP(addr);
  return family !== 0 && rest.length === 0 && /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
