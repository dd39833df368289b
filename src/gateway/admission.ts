// Which LAN clients may use the gateway: a CIDR allowlist and, optionally, a
// per-device token. Pure; the token file is read by the caller.
import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { parse as parseYaml } from 'yaml';

export type AdmissionResult = { ok: true; deviceId: string | undefined } | { ok: false; reason: string };

export interface Admission {
  admit(remoteAddress: string | undefined, deviceToken: string | undefined): AdmissionResult;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Parses a device token file: a YAML mapping device id -> token or "sha256:<hex>". Keys by the token's digest. */
export function parseDeviceTokens(text: string): Map<string, string> {
  const doc: unknown = parseYaml(text);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('device token file must be a mapping of device id to token');
  const byDigest = new Map<string, string>();
  for (const [device, token] of Object.entries(doc as Record<string, unknown>)) {
    if (typeof token !== 'string' || token.length === 0) throw new Error(`device ${device}: token must be a non-empty string`);
    const digest = token.startsWith('sha256:') ? token.slice(7).toLowerCase() : sha256(token);
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`device ${device}: sha256 digest must be 64 hex digits`);
    byDigest.set(digest, device);
  }
  return byDigest;
}

function parseRange(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (text.includes('/')) return ipaddr.parseCIDR(text);
  const addr = ipaddr.parse(text);
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

export function buildAdmission(allowCidrs: readonly string[] | undefined, deviceTokens: Map<string, string> | undefined): Admission {
  const ranges = allowCidrs?.map(parseRange);
  return {
    admit(remoteAddress, deviceToken) {
      if (ranges) {
        if (!remoteAddress || !ipaddr.isValid(remoteAddress)) return { ok: false, reason: 'unknown client address' };
        // ipaddr.process folds IPv4-mapped IPv6 (::ffff:a.b.c.d) back to IPv4.
        const addr = ipaddr.process(remoteAddress);
        const inRange = ranges.some(([net, bits]) => addr.kind() === net.kind() && addr.match(net, bits));
        if (!inRange) return { ok: false, reason: `client ${remoteAddress} is outside the allowed networks` };
      }
      if (!deviceTokens) return { ok: true, deviceId: undefined };
      if (!deviceToken) return { ok: false, reason: 'device token required' };
      // A lookup by digest: the secret itself is never compared byte by byte.
      const deviceId = deviceTokens.get(sha256(deviceToken));
      return deviceId === undefined ? { ok: false, reason: 'unknown device token' } : { ok: true, deviceId };
    },
  };
}
