import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseWgDump, type WgDumpResult } from './wg-dump.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const twoPeers = fixture('wg-dump-two-peers.txt');

/** The private key and every preshared key in a dump: what must never come back out. */
function secretsOf(text: string): string[] {
  const [iface = '', ...peers] = text.trimEnd().split('\n');
  const secrets = [iface.split('\t')[0] ?? '', ...peers.map((p) => p.split('\t')[1] ?? '')];
  return secrets.filter((s) => s !== '(none)');
}

function expectNoSecrets(result: WgDumpResult, text: string): void {
  const out = JSON.stringify(result);
  for (const secret of secretsOf(text)) expect(out).not.toContain(secret);
}

/** Replaces field `field` of line `line` (both 0-based) in a dump. */
function withField(text: string, line: number, field: number, value: string): string {
  return text
    .split('\n')
    .map((l, i) => (i === line ? l.split('\t').map((f, j) => (j === field ? value : f)).join('\t') : l))
    .join('\n');
}

function reasonOf(text: string): string {
  const result = parseWgDump(text);
  if (result.ok) throw new Error('expected the dump to be refused');
  expectNoSecrets(result, twoPeers);
  return result.reason;
}

describe('parseWgDump on captured wireguard-go output', () => {
  it('reads an initiator after a handshake: one live peer, one never seen', () => {
    const result = parseWgDump(twoPeers);
    expect(result).toEqual({
      ok: true,
      dump: {
        listenPort: 51820,
        fwmark: undefined,
        peers: [
          {
            publicKey: '3eA94FRLL0svGKw5IulrhkTscaZscEKlqmA6mOJkCjw=',
            endpoint: '10.199.0.2:51821',
            allowedIps: ['10.200.0.2/32', 'fd00:200::2/128'],
            latestHandshakeS: 1795458608,
            rxBytes: 5532,
            txBytes: 5768,
            persistentKeepaliveS: 25,
          },
          {
            publicKey: '8l87pV++ue6m/wBKH56YbMyp0aEUhhmqF5ywiCtLVlU=',
            endpoint: undefined,
            allowedIps: ['10.200.1.0/24', '10.200.2.0/24'],
            latestHandshakeS: undefined,
            rxBytes: 0,
            txBytes: 0,
            persistentKeepaliveS: undefined,
          },
        ],
      },
    });
    expectNoSecrets(result, twoPeers);
  });

  it('reads a peer that has sent handshake initiations but never completed one', () => {
    const text = fixture('wg-dump-no-handshake.txt');
    const result = parseWgDump(text);
    if (!result.ok) throw new Error(result.reason);
    expect(result.dump.peers[0]).toMatchObject({ latestHandshakeS: undefined, rxBytes: 0, txBytes: 148 });
    expectNoSecrets(result, text);
  });

  it('reads a responder: fwmark in hex, a learned endpoint, an IPv6 endpoint, default routes', () => {
    const text = fixture('wg-dump-responder.txt');
    const result = parseWgDump(text);
    if (!result.ok) throw new Error(result.reason);
    expect(result.dump.listenPort).toBe(51821);
    expect(result.dump.fwmark).toBe(0x1234);
    expect(result.dump.peers.map((p) => [p.endpoint, p.allowedIps, p.persistentKeepaliveS])).toEqual([
      ['10.199.0.1:51820', ['10.200.0.1/32'], undefined],
      ['[fd00:199::9]:51999', ['0.0.0.0/0', '::/0'], undefined],
    ]);
    expectNoSecrets(result, text);
  });

  it('reads a fresh interface with no keys and no peers', () => {
    expect(parseWgDump(fixture('wg-dump-unconfigured.txt'))).toEqual({
      ok: true,
      dump: { listenPort: 41537, fwmark: undefined, peers: [] },
    });
  });
});

describe('parseWgDump refuses malformed output without quoting it', () => {
  it('refuses empty output and output cut short', () => {
    expect(reasonOf('')).toBe('empty output');
    expect(reasonOf('\n')).toBe('line 1: expected 4 fields, got 1');
    expect(reasonOf(twoPeers.slice(0, -1))).toBe('output does not end with a newline (truncated?)');
  });

  it('refuses wrong field counts', () => {
    const [iface = '', peer = ''] = twoPeers.split('\n');
    const ifaceShort = iface.split('\t').slice(0, 3).join('\t');
    expect(reasonOf(`${ifaceShort}\n`)).toBe('line 1: expected 4 fields, got 3');
    const peerShort = peer.split('\t').slice(0, 7).join('\t');
    expect(reasonOf(`${iface}\n${peerShort}\n`)).toBe('line 2: expected 8 fields, got 7');
    expect(reasonOf(`${iface}\n${peer}\t0\n`)).toBe('line 2: expected 8 fields, got 9');
    expect(reasonOf(`${iface}\n\n${peer}\n`)).toBe('line 2: expected 8 fields, got 1');
    expect(reasonOf(withField(twoPeers, 2, 3, ''))).toBe('line 3: allowed-ips is empty');
  });

  it('refuses non-numeric, negative and oversized numbers', () => {
    expect(reasonOf(withField(twoPeers, 1, 5, '12k'))).toBe('line 2: transfer-rx is not a non-negative decimal integer');
    expect(reasonOf(withField(twoPeers, 1, 6, '-5'))).toBe('line 2: transfer-tx is not a non-negative decimal integer');
    expect(reasonOf(withField(twoPeers, 1, 4, '1.5'))).toBe('line 2: latest-handshake is not a non-negative decimal integer');
    expect(reasonOf(withField(twoPeers, 1, 6, '9007199254740993'))).toBe('line 2: transfer-tx exceeds 9007199254740991');
    expect(reasonOf(withField(twoPeers, 0, 2, '70000'))).toBe('line 1: listen-port exceeds 65535');
    expect(reasonOf(withField(twoPeers, 1, 7, 'on'))).toBe('line 2: persistent-keepalive is not a non-negative decimal integer');
    expect(reasonOf(withField(twoPeers, 0, 3, '4660'))).toBe('line 1: fwmark is neither "off" nor a 32-bit 0x hex number');
    expect(reasonOf(twoPeers.replaceAll('\n', '\r\n'))).toBe('line 1: fwmark is neither "off" nor a 32-bit 0x hex number');
  });

  it('refuses malformed keys, endpoints and allowed IPs', () => {
    expect(reasonOf(withField(twoPeers, 1, 0, '(none)'))).toBe('line 2: public-key is not a key');
    expect(reasonOf(withField(twoPeers, 1, 2, '10.199.0.2'))).toBe('line 2: endpoint is not ip:port or [ipv6]:port');
    expect(reasonOf(withField(twoPeers, 1, 2, 'host.example:51820'))).toBe('line 2: endpoint is not ip:port or [ipv6]:port');
    expect(reasonOf(withField(twoPeers, 1, 3, '10.200.0.2/33'))).toBe('line 2: allowed-ips is not a comma-separated list of CIDRs');
    expect(reasonOf(withField(twoPeers, 1, 3, '10.200.0.2/32, fd00::/64'))).toBe(
      'line 2: allowed-ips is not a comma-separated list of CIDRs',
    );
  });

  it('never quotes a secret, even one found in the wrong column', () => {
    const [privateKey = '', presharedKey = ''] = secretsOf(twoPeers);
    expect(reasonOf(withField(twoPeers, 0, 2, privateKey))).toBe('line 1: listen-port is not a non-negative decimal integer');
    expect(reasonOf(withField(twoPeers, 1, 2, presharedKey))).toBe('line 2: endpoint is not ip:port or [ipv6]:port');
    expect(reasonOf(withField(twoPeers, 0, 0, `${privateKey}x`))).toBe('line 1: private-key is not a key');
  });
});
