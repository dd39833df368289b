// WireGuard for a store's uplinks: keys (X25519, as `wg genkey` / `wg pubkey`
// make them) and the text of the store's tunnel config and of the region's
// matching [Peer] block. Every input is checked against a strict pattern
// before it can reach a file: a value with a newline in it could otherwise
// add its own `[Peer]` or `PostUp =` line to a config that wg-quick runs as
// root. Pure: nothing here reads or writes files.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** Canonical base64 of 32 bytes: 43 characters, the last of them carrying 2 zero bits, then one '='. */
const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
// The same patterns as the gateway config's store.id, paths[].name and
// paths[].wireguard.interface (edge-config/schema.ts), so what this tool
// accepts is what a gateway.yaml can name.
const STORE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const UPLINK = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const INTERFACE = /^[A-Za-z0-9_=+.-]{1,15}$/;
const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const DECIMAL = /^[0-9]{1,5}$/;

// X25519 private keys in PKCS#8 DER: this fixed prefix, then the 32 raw bytes.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

export function encodeKey(raw: Buffer): string {
  return raw.toString('base64');
}

/** A key as wg(8) writes it, or undefined: 44 characters of canonical base64 for 32 bytes. */
export function decodeKey(text: string): Buffer | undefined {
  return KEY.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** RFC 7748 clamping, as `wg genkey` applies it: the key then reads the same to every implementation. */
function clamp(d: Buffer): Buffer {
  const k = Buffer.from(d);
  k[0] = k[0]! & 248;
  k[31] = (k[31]! & 127) | 64;
  return k;
}

/** A new private key: X25519 from node's crypto, raw 32 bytes (the JWK `d`), clamped. */
export function generatePrivateKey(): Buffer {
  const { privateKey } = generateKeyPairSync('x25519');
  const d = privateKey.export({ format: 'jwk' }).d;
  if (d === undefined) throw new Error('X25519 key without d');
  return clamp(Buffer.from(d, 'base64url'));
}

/** The public key of a raw private key (the JWK `x` of its public half): what `wg pubkey` prints. */
export function publicKeyOf(privateKey: Buffer): Buffer {
  if (privateKey.length !== 32) throw new Error('an X25519 private key is 32 bytes');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, privateKey]), format: 'der', type: 'pkcs8' });
  const x = createPublicKey(key).export({ format: 'jwk' }).x;
  if (x === undefined) throw new Error('X25519 public key without x');
  return Buffer.from(x, 'base64url');
}

/** The contents of a key file: the key, then at most one newline (what `wg genkey > file` writes). */
export function parseKeyFile(text: string): Buffer | undefined {
  return decodeKey(text.endsWith('\n') ? text.slice(0, -1) : text);
}

export interface Endpoint {
  host: string;
  port: number;
}

export interface TunnelAddress {
  address: string;
  prefix: number;
  family: 4 | 6;
}

/** What peer-config needs, every field checked. */
export interface PeerConfig {
  storeId: string;
  uplink: string;
  interfaceName: string;
  storePrivateKey: Buffer;
  regionPublicKey: Buffer;
  endpoint: Endpoint;
  /** The store's address inside this tunnel (wg-quick Address=). */
  tunnelAddress: TunnelAddress;
  /** The regional ingress inside this tunnel: the only address the store routes through it. */
  regionAddress: string;
  keepaliveSec: number;
  listenPort?: number;
  mtu?: number;
}

/** Command-line values as given; the private key already read from its file. */
export interface PeerConfigArgs {
  storeId: string;
  uplink: string;
  interfaceName?: string;
  storePrivateKey: Buffer;
  regionPublicKey: string;
  endpoint: string;
  tunnelAddress: string;
  regionAddress: string;
  keepaliveSec?: string;
  listenPort?: string;
  mtu?: string;
}

/** Every problem with the arguments at once, one line each. */
export class PeerConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

function family(ip: string): 4 | 6 | undefined {
  // node's isIPv6 accepts a zone ("fe80::1%eth0"); a config has no use for one.
  if (isIPv4(ip)) return 4;
  if (isIPv6(ip) && !ip.includes('%')) return 6;
  return undefined;
}

function parseEndpoint(text: string): Endpoint | string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):([^:]+)$/.exec(text);
  if (!m) return 'must be HOST:PORT (an IPv6 address in brackets: [2001:db8::1]:51820)';
  const port = DECIMAL.test(m[3]!) ? Number(m[3]) : NaN;
  if (!(port >= 1 && port <= 65535)) return `port must be 1..65535, not "${m[3]}"`;
  if (m[1] !== undefined) return family(m[1]) === 6 ? { host: `[${m[1]}]`, port } : `"${m[1]}" is not an IPv6 address`;
  const host = m[2]!;
  if (family(host) === 4) return { host, port };
  const labels = host.replace(/\.$/, '').split('.');
  // All-numeric names are not host names: "10.0.0.256" is a mistyped address, not a DNS name.
  if (host.length > 253 || !labels.every((l) => HOST_LABEL.test(l)) || /^[0-9.]+$/.test(host)) return `"${host}" is not an IPv4 address or a host name`;
  return { host, port };
}

function parseTunnelAddress(text: string): TunnelAddress | string {
  const [address = '', prefix, ...rest] = text.split('/');
  const fam = family(address);
  if (fam === undefined || rest.length > 0) return 'must be an IP address, optionally with a prefix length (10.60.42.2/32)';
  const max = fam === 4 ? 32 : 128;
  const bits = prefix === undefined ? max : DECIMAL.test(prefix) ? Number(prefix) : NaN;
  if (!(bits >= 8 && bits <= max)) return `prefix length must be 8..${max}, not "${prefix}"`;
  return { address, prefix: bits, family: fam };
}

function optionalInt(text: string | undefined, min: number, max: number, what: string, problems: string[]): number | undefined {
  if (text === undefined) return undefined;
  const n = DECIMAL.test(text) ? Number(text) : NaN;
  if (n >= min && n <= max) return n;
  problems.push(`${what}: must be a whole number ${min}..${max}, not "${text}"`);
  return undefined;
}

/** Checks every argument; throws PeerConfigError listing each problem, never echoing a key. */
export function checkPeerConfig(a: PeerConfigArgs): PeerConfig {
  const problems: string[] = [];
  const need = (ok: boolean, message: string) => ok || problems.push(message);
  need(STORE_ID.test(a.storeId), `--store: "${a.storeId}" is not a store id (letters, digits, . _ -; up to 64; as store.id in gateway.yaml)`);
  need(UPLINK.test(a.uplink), `--uplink: "${a.uplink}" is not an uplink name (a-z, 0-9, _ -; up to 32; as paths[].name in gateway.yaml)`);
  const interfaceName = a.interfaceName ?? `wg-${a.uplink}`;
  // A default made from a bad uplink name is that name's problem, said once.
  if (a.interfaceName !== undefined || UPLINK.test(a.uplink)) {
    need(INTERFACE.test(interfaceName), `--interface: "${interfaceName}" is not an interface name (up to 15 of A-Z a-z 0-9 _ = + . -)${a.interfaceName === undefined ? '; name one for this uplink' : ''}`);
  }
  need(a.storePrivateKey.length === 32, '--store-key: not a WireGuard private key');
  const regionPublicKey = decodeKey(a.regionPublicKey);
  need(regionPublicKey !== undefined, '--region-public-key: not a WireGuard public key (44 characters of base64, as `wg pubkey` prints)');
  const endpoint = parseEndpoint(a.endpoint);
  if (typeof endpoint === 'string') problems.push(`--endpoint: ${endpoint}`);
  const tunnel = parseTunnelAddress(a.tunnelAddress);
  if (typeof tunnel === 'string') problems.push(`--tunnel-address: ${tunnel}`);
  const regionFamily = family(a.regionAddress);
  if (regionFamily === undefined) problems.push(`--region-address: "${a.regionAddress}" is not an IP address`);
  else if (typeof tunnel !== 'string') {
    need(regionFamily === tunnel.family, '--region-address and --tunnel-address must be of the same IP family');
    need(a.regionAddress !== tunnel.address, '--region-address must differ from --tunnel-address');
  }
  const keepaliveSec = optionalInt(a.keepaliveSec, 0, 65535, '--keepalive', problems) ?? 25;
  const listenPort = optionalInt(a.listenPort, 1, 65535, '--listen-port', problems);
  const mtu = optionalInt(a.mtu, 1280, 9000, '--mtu', problems);
  if (problems.length > 0) throw new PeerConfigError(problems);
  if (regionPublicKey?.equals(publicKeyOf(a.storePrivateKey))) throw new PeerConfigError(['--region-public-key is the store\'s own public key']);
  return {
    storeId: a.storeId,
    uplink: a.uplink,
    interfaceName,
    storePrivateKey: a.storePrivateKey,
    regionPublicKey: regionPublicKey!,
    endpoint: endpoint as Endpoint,
    tunnelAddress: tunnel as TunnelAddress,
    regionAddress: a.regionAddress,
    keepaliveSec,
    ...(listenPort !== undefined && { listenPort }),
    ...(mtu !== undefined && { mtu }),
  };
}

const hostRoute = (address: string) => `${address}/${family(address) === 4 ? 32 : 128}`;

/**
 * The store's side, wg-quick format (/etc/wireguard/<interface>.conf). Only
 * the region's tunnel address is routed into the tunnel: each uplink reaches
 * the ingress at its own address, so two uplinks never compete for a route
 * and the gateway picks the uplink by picking the address. `wg-quick strip`
 * gives the wg(8) form for `wg setconf`.
 */
export function renderStoreConfig(c: PeerConfig): string {
  return [
    `# storegw: WireGuard uplink "${c.uplink}" of store ${c.storeId} (wg-quick format; secret: mode 0600).`,
    `# Install as /etc/wireguard/${c.interfaceName}.conf, then: systemctl enable --now wg-quick@${c.interfaceName}`,
    '[Interface]',
    `PrivateKey = ${encodeKey(c.storePrivateKey)}`,
    `Address = ${c.tunnelAddress.address}/${c.tunnelAddress.prefix}`,
    ...(c.listenPort !== undefined ? [`ListenPort = ${c.listenPort}`] : []),
    ...(c.mtu !== undefined ? [`MTU = ${c.mtu}`] : []),
    '',
    '[Peer]',
    `# the regional ingress, through uplink ${c.uplink}`,
    `PublicKey = ${encodeKey(c.regionPublicKey)}`,
    `Endpoint = ${c.endpoint.host}:${c.endpoint.port}`,
    `AllowedIPs = ${hostRoute(c.regionAddress)}`,
    // The store is behind NAT and the region never dials it: keepalives hold the NAT mapping open.
    ...(c.keepaliveSec > 0 ? [`PersistentKeepalive = ${c.keepaliveSec}`] : []),
    '',
  ].join('\n');
}

/**
 * The region's [Peer] block for this store and uplink: appended to the
 * region's interface config for the uplink. The store gets exactly its own
 * tunnel address, so one store can never speak for another.
 */
export function renderRegionPeer(c: PeerConfig): string {
  return [
    `# storegw: store ${c.storeId}, uplink ${c.uplink}. Append to the region's config of this uplink's interface, then:`,
    '#   wg syncconf <interface> <(wg-quick strip <interface>)',
    '[Peer]',
    `PublicKey = ${encodeKey(publicKeyOf(c.storePrivateKey))}`,
    `AllowedIPs = ${hostRoute(c.tunnelAddress.address)}`,
    '',
  ].join('\n');
}

/** The paths[] entry of gateway.yaml that uses this tunnel. */
export function renderGatewayPath(c: PeerConfig): string {
  const url = `http://${family(c.regionAddress) === 6 ? `[${c.regionAddress}]` : c.regionAddress}`;
  return [
    `  - name: ${c.uplink}`,
    `    baseUrl: ${url}`,
    `    wireguard: { interface: ${c.interfaceName} }`,
    `    localAddress: ${c.tunnelAddress.address}`,
    `    probe: { url: ${url}/ping }`,
    '',
  ].join('\n');
}
