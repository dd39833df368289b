// deploy/wireguard: the templates say what `storegw wg peer-config` writes
// (same sections, same keys), they fit the Traefik entrypoints, and wg-quick
// reads them once filled in. The lab test (test/lab/wg-config.test.ts)
// brings a tunnel up from them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkPeerConfig, encodeKey, generatePrivateKey, publicKeyOf, renderRegionPeer, renderStoreConfig } from '../../src/cli/wg-config.js';

const read = (f: string) => readFileSync(join('deploy/wireguard', f), 'utf8');

/** [section, key] of every setting, in order; comments and blank lines dropped. */
function keys(text: string): string[] {
  let section = '';
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) section = head[1]!;
    else {
      const kv = /^(\w+) = (.+)$/.exec(line);
      if (!kv) throw new Error(`not "Key = value": ${line}`);
      out.push(`${section}.${kv[1]}`);
    }
  }
  return out;
}

/** The template with its placeholders filled in; those in comments (optional lines) stay. */
const fill = (text: string, values: Record<string, string>) =>
  text
    .split('\n')
    .map((line) =>
      line.startsWith('#')
        ? line
        : line.replace(/\$\{([A-Z_]+)\}/g, (m, k: string) => {
            if (values[k] === undefined) throw new Error(`no value for ${m}`);
            return values[k];
          }),
    )
    .join('\n');

const store = generatePrivateKey();
const region = generatePrivateKey();
const config = checkPeerConfig({
  storeId: 'store-0042',
  uplink: 'fiber',
  storePrivateKey: store,
  regionPublicKey: encodeKey(publicKeyOf(region)),
  endpoint: 'ingress-fiber.eu-west.example.net:51820',
  tunnelAddress: '10.60.42.2/32',
  regionAddress: '10.60.0.1',
});
const storeValues = {
  STORE_PRIVATE_KEY: encodeKey(store),
  STORE_TUNNEL_ADDRESS: '10.60.42.2',
  REGION_PUBLIC_KEY: encodeKey(publicKeyOf(region)),
  REGION_ENDPOINT: 'ingress-fiber.eu-west.example.net:51820',
  REGION_TUNNEL_ADDRESS: '10.60.0.1',
};

describe('WireGuard templates', () => {
  it("store-uplink.conf has exactly the settings of the store config peer-config writes, filled in to the same values", () => {
    expect(keys(read('store-uplink.conf'))).toEqual(keys(renderStoreConfig(config)));
    const filled = fill(read('store-uplink.conf'), storeValues);
    const settings = (t: string) => t.split('\n').filter((l) => / = /.test(l) && !l.startsWith('#'));
    expect(settings(filled)).toEqual(settings(renderStoreConfig(config)));
  });

  it("region-peer.conf is the [Peer] block peer-config writes for the region", () => {
    expect(keys(read('region-peer.conf'))).toEqual(keys(renderRegionPeer(config)));
    expect(read('region-peer.conf')).toContain('AllowedIPs = ${STORE_TUNNEL_ADDRESS}/32');
  });

  it("region-uplink.conf keeps the region's private key out of the file that grows a peer per store", () => {
    expect(keys(read('region-uplink.conf'))).toEqual(['Interface.Address', 'Interface.ListenPort', 'Interface.PostUp']);
    expect(read('region-uplink.conf')).toMatch(/^PostUp = wg set %i private-key \$\{PRIVATE_KEY_FILE\}$/m);
    expect(read('region-uplink.conf')).not.toMatch(/^PrivateKey/m);
  });

  it('names the same tunnel addresses, subnets and ports as the Traefik entrypoints', () => {
    const traefik = parse(readFileSync('deploy/traefik/traefik.yml', 'utf8')) as { entryPoints: Record<string, { address: string; forwardedHeaders: { trustedIPs: string[] } }> };
    const plan = [...read('region-uplink.conf').matchAll(/(\w+): (\d+\.\d+\.\d+\.\d+)\/(\d+) :(\d+)/g)].map((m) => ({ uplink: m[1]!, address: m[2]!, prefix: m[3]!, port: Number(m[4]) }));
    expect(plan.map((p) => p.uplink)).toEqual(['fiber', 'lte']);
    for (const p of plan) {
      const ep = traefik.entryPoints[`wg-${p.uplink}`]!;
      expect(ep.address).toBe(`${p.address}:80`);
      expect(ep.forwardedHeaders.trustedIPs).toEqual([`${p.address.replace(/\.\d+\.\d+$/, '.0.0')}/${p.prefix}`]);
    }
    expect(new Set(plan.map((p) => p.port)).size).toBe(plan.length);
  });

  const wgQuick = spawnSync('wg-quick', ['--help'], { stdio: 'ignore' }).error === undefined;
  if (!wgQuick) console.warn('skipped "wg-quick strip": wireguard-tools is not installed');
  it.skipIf(!wgQuick)('are read by wg-quick once filled in (wg-quick strip: the wg(8) form for wg setconf)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'storegw-wg-tpl-'));
    try {
      const storeFile = join(dir, 'wg-fiber.conf');
      writeFileSync(storeFile, fill(read('store-uplink.conf'), storeValues), { mode: 0o600 });
      const s = spawnSync('wg-quick', ['strip', storeFile], { encoding: 'utf8' });
      expect(s.status, s.stderr).toBe(0);
      expect(keys(s.stdout)).toEqual(['Interface.PrivateKey', 'Peer.PublicKey', 'Peer.Endpoint', 'Peer.AllowedIPs', 'Peer.PersistentKeepalive']);
      const regionFile = join(dir, 'wg-fiberr.conf');
      const regionValues = { REGION_TUNNEL_ADDRESS: '10.60.0.1', TUNNEL_PREFIX: '16', LISTEN_PORT: '51820', PRIVATE_KEY_FILE: join(dir, 'region.key') };
      writeFileSync(regionFile, fill(read('region-uplink.conf'), regionValues) + renderRegionPeer(config), { mode: 0o600 });
      const r = spawnSync('wg-quick', ['strip', regionFile], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(keys(r.stdout)).toEqual(['Interface.ListenPort', 'Peer.PublicKey', 'Peer.AllowedIPs']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
