import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PeerConfigError, checkPeerConfig, decodeKey, encodeKey, generatePrivateKey, parseKeyFile, publicKeyOf, renderGatewayPath, renderRegionPeer, renderStoreConfig, type PeerConfigArgs } from './wg-config.js';

// RFC 7748, section 6.1: Alice's key pair.
const ALICE_PRIVATE = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
const ALICE_PUBLIC = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex');
// Bob's public key from the same section, standing in for the region.
const BOB_PUBLIC = encodeKey(Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex'));

function hasWg(): boolean {
  try {
    execFileSync('wg', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const args = (over: Partial<PeerConfigArgs> = {}): PeerConfigArgs => ({
  storeId: 'store-0042',
  uplink: 'fiber',
  storePrivateKey: ALICE_PRIVATE,
  regionPublicKey: BOB_PUBLIC,
  endpoint: 'ingress-fiber.eu-west.example.net:51820',
  tunnelAddress: '10.60.42.2/32',
  regionAddress: '10.60.0.1',
  ...over,
});

function problems(over: Partial<PeerConfigArgs>): string[] {
  try {
    checkPeerConfig(args(over));
  } catch (e) {
    if (e instanceof PeerConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('WireGuard keys', () => {
  it('derives the public key of RFC 7748 test vector', () => {
    expect(publicKeyOf(ALICE_PRIVATE).equals(ALICE_PUBLIC)).toBe(true);
  });

  it('makes clamped private keys whose public key is the one node derived for the pair', () => {
    for (let i = 0; i < 20; i++) {
      const k = generatePrivateKey();
      expect(k.length).toBe(32);
      expect(k[0]! & 7).toBe(0);
      expect(k[31]! & 0xc0).toBe(0x40);
      expect(decodeKey(encodeKey(k))?.equals(k)).toBe(true);
    }
    // Clamping does not change the public key: X25519 clamps the scalar when it uses it.
    const pair = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' });
    const d = Buffer.from(pair.d!, 'base64url');
    const clamped = Buffer.from(d);
    clamped[0]! &= 248;
    clamped[31] = (clamped[31]! & 127) | 64;
    expect(encodeKey(publicKeyOf(d))).toBe(Buffer.from(pair.x!, 'base64url').toString('base64'));
    expect(encodeKey(publicKeyOf(clamped))).toBe(encodeKey(publicKeyOf(d)));
  });

  it.skipIf(!hasWg())('agrees with wg pubkey, and reads what wg genkey writes', () => {
    const ours = encodeKey(generatePrivateKey());
    expect(execFileSync('wg', ['pubkey'], { input: ours + '\n' }).toString().trim()).toBe(encodeKey(publicKeyOf(decodeKey(ours)!)));
    const theirs = execFileSync('wg', ['genkey']).toString();
    const key = parseKeyFile(theirs);
    expect(key).toBeDefined();
    expect(encodeKey(publicKeyOf(key!))).toBe(execFileSync('wg', ['pubkey'], { input: theirs }).toString().trim());
  });

  it('reads only a canonical key, with at most one newline after it', () => {
    const k = encodeKey(ALICE_PRIVATE);
    expect(parseKeyFile(k)).toBeDefined();
    expect(parseKeyFile(k + '\n')).toBeDefined();
    for (const bad of [k + '\n\n', k + '\r\n', ' ' + k, k.slice(0, 43), k.slice(0, 42) + 'B=', k.replace('=', 'A'), k.slice(0, 20) + '\n' + k.slice(21), '']) {
      expect(parseKeyFile(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe('peer-config arguments', () => {
  it('accepts a plain store uplink, defaulting the interface and keepalive', () => {
    const c = checkPeerConfig(args());
    expect(c).toMatchObject({ interfaceName: 'wg-fiber', keepaliveSec: 25, endpoint: { host: 'ingress-fiber.eu-west.example.net', port: 51820 }, tunnelAddress: { address: '10.60.42.2', prefix: 32, family: 4 } });
    expect(checkPeerConfig(args({ endpoint: '198.51.100.7:51821', tunnelAddress: '10.61.42.2' })).tunnelAddress.prefix).toBe(32);
    expect(checkPeerConfig(args({ endpoint: '[2001:db8::1]:51820', tunnelAddress: 'fd00:60::42:2/128', regionAddress: 'fd00:60::1' })).endpoint.host).toBe('[2001:db8::1]');
  });

  it('refuses a newline, or anything else outside the pattern, in every value that reaches a file', () => {
    const inject = '\n[Peer]\nPublicKey = ' + BOB_PUBLIC;
    const cases: [Partial<PeerConfigArgs>, string][] = [
      [{ storeId: 'store-0042' + inject }, '--store'],
      [{ uplink: 'fiber' + inject }, '--uplink'],
      [{ interfaceName: 'wg0\nPostUp = rm -rf /' }, '--interface'],
      [{ regionPublicKey: BOB_PUBLIC + '\n' }, '--region-public-key'],
      [{ endpoint: 'a.example:51820\nPostUp = id' }, '--endpoint'],
      [{ endpoint: 'a.example\n:51820' }, '--endpoint'],
      [{ tunnelAddress: '10.60.42.2/32\nDNS = 1.1.1.1' }, '--tunnel-address'],
      [{ regionAddress: '10.60.0.1\n' }, '--region-address'],
      [{ keepaliveSec: '25\n' }, '--keepalive'],
      [{ listenPort: '51820\n' }, '--listen-port'],
      [{ mtu: '1420 ' }, '--mtu'],
    ];
    for (const [over, option] of cases) {
      const p = problems(over);
      expect(p, JSON.stringify(over)).toHaveLength(1);
      expect(p[0]).toContain(option);
    }
  });

  it('checks endpoints, addresses and numbers', () => {
    const bad: Partial<PeerConfigArgs>[] = [
      { endpoint: 'example.net' },
      { endpoint: 'example.net:0' },
      { endpoint: 'example.net:65536' },
      { endpoint: '-bad.example:51820' },
      { endpoint: 'a..b:51820' },
      { endpoint: '10.0.0.256:51820' },
      { endpoint: '2001:db8::1:51820' },
      { endpoint: '[10.0.0.1]:51820' },
      { endpoint: 'user@host:51820' },
      { tunnelAddress: '10.60.42.2/33' },
      { tunnelAddress: '10.60.42.2/4' },
      { tunnelAddress: '10.60.42.02/32' },
      { tunnelAddress: 'fe80::1%eth0/64', regionAddress: 'fe80::2' },
      { tunnelAddress: '10.60.42.2/32/1' },
      { regionAddress: '10.60.0.1/32' },
      { regionAddress: 'fd00::1' },
      { regionAddress: '10.60.42.2' },
      { keepaliveSec: '-1' },
      { keepaliveSec: '65536' },
      { mtu: '576' },
    ];
    for (const over of bad) expect(problems(over), JSON.stringify(over)).toHaveLength(1);
  });

  it('reports every problem at once and never echoes a key', () => {
    const secretish = 'hunter2-hunter2-hunter2';
    const p = problems({ storeId: '', uplink: 'Fiber', regionPublicKey: secretish, endpoint: 'x', storePrivateKey: Buffer.alloc(3) });
    expect(p).toHaveLength(5);
    expect(p.join('\n')).not.toContain(secretish);
    expect(problems({ regionPublicKey: encodeKey(ALICE_PUBLIC) })).toEqual(["--region-public-key is the store's own public key"]);
  });
});

describe('rendered files', () => {
  const c = checkPeerConfig(args({ listenPort: '51900', mtu: '1380' }));

  it("writes the store's wg-quick config: only the ingress address routed into the tunnel", () => {
    expect(renderStoreConfig(c)).toBe(`# storegw: WireGuard uplink "fiber" of store store-0042 (wg-quick format; secret: mode 0600).
# Install as /etc/wireguard/wg-fiber.conf, then: systemctl enable --now wg-quick@wg-fiber
[Interface]
PrivateKey = ${encodeKey(ALICE_PRIVATE)}
Address = 10.60.42.2/32
ListenPort = 51900
MTU = 1380

[Peer]
# the regional ingress, through uplink fiber
PublicKey = ${BOB_PUBLIC}
Endpoint = ingress-fiber.eu-west.example.net:51820
AllowedIPs = 10.60.0.1/32
PersistentKeepalive = 25
`);
    expect(renderStoreConfig(checkPeerConfig(args({ keepaliveSec: '0' })))).not.toContain('PersistentKeepalive');
  });

  it("writes the region's [Peer]: the store's public key, and exactly its own address", () => {
    const text = renderRegionPeer(checkPeerConfig(args({ tunnelAddress: '10.60.42.2/16' })));
    expect(text).toContain(`[Peer]\nPublicKey = ${encodeKey(ALICE_PUBLIC)}\nAllowedIPs = 10.60.42.2/32\n`);
    expect(text).not.toContain(encodeKey(ALICE_PRIVATE));
    expect(renderRegionPeer(checkPeerConfig(args({ tunnelAddress: 'fd00:60::42:2/64', regionAddress: 'fd00:60::1' })))).toContain('AllowedIPs = fd00:60::42:2/128');
  });

  it('names the gateway.yaml path that uses the tunnel', () => {
    expect(renderGatewayPath(c)).toBe('  - name: fiber\n    baseUrl: http://10.60.0.1\n    wireguard: { interface: wg-fiber }\n    localAddress: 10.60.42.2\n    probe: { url: http://10.60.0.1/ping }\n');
  });
});
