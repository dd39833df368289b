// A store's tunnel brought up from what `storegw wg keygen` and `storegw wg
// peer-config` generate, and the region's end from deploy/wireguard's
// template plus the generated [Peer]: wg-quick up on both sides (wireguard-go,
// as wg-quick falls back to without the kernel module), then HTTP through it.
// The lab gives the two namespaces and the underlay; its own tunnels are not
// used (new interfaces, keys, addresses and port).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLab } from './describe-lab.js';
import { Lab } from './topology.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const WG_ENV = { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' };
const PORT = 51830;

async function storegw(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args]);
  return stdout;
}

// In the region: counts the bytes of each request and says who sent it.
const SERVER = `
require('node:http').createServer((req, res) => {
  let n = 0;
  req.on('data', (c) => (n += c.length));
  req.on('end', () => res.end(JSON.stringify({ from: req.socket.remoteAddress, bytes: n })));
}).listen(8080, process.argv[1]);
`;

// In the store: one GET from a chosen source address; prints the outcome.
const FROM = `
const req = require('node:http').get({ host: process.argv[1], port: 8080, localAddress: process.argv[2], timeout: 1500 }, (res) => {
  res.resume();
  res.on('end', () => console.log('status ' + res.statusCode));
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (e) => console.log('error ' + e.message));
`;

describeLab('WireGuard configs from storegw wg', () => {
  let lab: Lab;
  let dir: string;
  let storeIf: string;
  let regionIf: string;
  let storeAddr: string;
  let regionAddr: string;
  let keys: { store: string; region: string };

  beforeAll(async () => {
    lab = await Lab.create({ uplinks: ['fiber'] });
    dir = mkdtempSync(join(tmpdir(), 'storegw-wg-lab-'));
    // Names carry the lab id, so a dead test's leftovers are reaped with its lab (UAPI sockets included).
    storeIf = `sgw${lab.id}-q0`;
    regionIf = `sgw${lab.id}-q0r`;
    storeAddr = `10.99.${lab.id}.2`;
    regionAddr = `10.99.${lab.id}.1`;
    const fiber = lab.uplinks.fiber!;

    const pub = (out: string) => /\.pub: (\S+)$/m.exec(out)![1]!;
    keys = {
      store: pub(await storegw('wg', 'keygen', '--out', join(dir, 'keys'), '--name', 'store-fiber')),
      region: pub(await storegw('wg', 'keygen', '--out', join(dir, 'keys'), '--name', 'region-fiber')),
    };
    await storegw(
      'wg', 'peer-config',
      '--store', 'store-lab', '--uplink', 'fiber', '--interface', storeIf,
      '--store-key', join(dir, 'keys', 'store-fiber.key'),
      '--region-public-key', keys.region,
      '--endpoint', `${fiber.regionUnderlayAddress}:${PORT}`,
      '--tunnel-address', `${storeAddr}/32`,
      '--region-address', regionAddr,
      '--out', join(dir, 'out'),
    );

    // The region's interface: the template, filled in, and the generated [Peer] appended.
    const template = readFileSync('deploy/wireguard/region-uplink.conf', 'utf8');
    const values: Record<string, string> = { REGION_TUNNEL_ADDRESS: regionAddr, TUNNEL_PREFIX: '24', LISTEN_PORT: String(PORT), PRIVATE_KEY_FILE: join(dir, 'keys', 'region-fiber.key') };
    const filled = template.replace(/\$\{([A-Z_]+)\}/g, (_, k: string) => values[k] ?? `\${${k}}`);
    expect(filled.match(/^[^#].*\$\{/m)).toBeNull();
    const regionConf = join(dir, 'region', `${regionIf}.conf`);
    // wg-quick takes the interface name from the file name.
    mkdirSync(join(dir, 'region'), { mode: 0o700 });
    writeFileSync(regionConf, filled + '\n' + readFileSync(join(dir, 'out', `store-lab-fiber.region-peer.conf`), 'utf8'), { mode: 0o600 });

    await lab.exec('region', 'wg-quick', ['up', regionConf], { env: WG_ENV });
    await lab.exec('store', 'wg-quick', ['up', join(dir, 'out', `${storeIf}.conf`)], { env: WG_ENV });
    lab.spawn('region', process.execPath, ['-e', SERVER, regionAddr], { stdio: 'ignore' });
    await lab.waitFromStore([`http://${regionAddr}:8080/`], 5000);
  }, 60_000);

  afterAll(async () => {
    // Deleting the namespaces takes the interfaces, and wg-quick's wireguard-go daemons with them.
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('brings both ends up with the generated keys and addresses', async () => {
    expect((await lab.exec('store', 'wg', ['show', storeIf, 'public-key'])).stdout.trim()).toBe(keys.store);
    expect((await lab.exec('region', 'wg', ['show', regionIf, 'public-key'])).stdout.trim()).toBe(keys.region);
    const peers = (await lab.exec('region', 'wg', ['show', regionIf, 'allowed-ips'])).stdout.trim();
    expect(peers).toBe(`${keys.store}\t${storeAddr}/32`);
    const addr = (await lab.exec('store', 'ip', ['-4', '-o', 'addr', 'show', 'dev', storeIf])).stdout;
    expect(addr).toContain(`inet ${storeAddr}/32`);
    // The only route wg-quick added: the ingress's address, into the tunnel.
    expect((await lab.exec('store', 'ip', ['-4', 'route', 'show', 'dev', storeIf])).stdout.trim()).toBe(`${regionAddr} scope link`);
    expect(Number((await lab.exec('store', 'wg', ['show', storeIf, 'latest-handshakes'])).stdout.trim().split('\t')[1])).toBeGreaterThan(0);
  });

  it('carries HTTP both ways, from the store tunnel address', async () => {
    const r = await lab.httpFromStore(`http://${regionAddr}:8080/orders`, { method: 'POST', bodyBytes: 1 << 20, timeoutMs: 10_000 });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body!)).toEqual({ from: storeAddr, bytes: 1 << 20 });
  });

  it('drops what the store sends from any other address: the region peer allows exactly its own', async () => {
    const other = `10.99.${lab.id}.3`;
    await lab.exec('store', 'ip', ['addr', 'add', `${other}/32`, 'dev', storeIf]);
    const run = async (src: string) => (await lab.exec('store', process.execPath, ['-e', FROM, regionAddr, src])).stdout.trim();
    expect(await run(storeAddr)).toBe('status 200');
    expect(await run(other)).toBe('error timeout');
  });

  it("keeps the store's private key to the store's file (0600)", () => {
    const storeConf = join(dir, 'out', `${storeIf}.conf`);
    const regionPeer = join(dir, 'out', 'store-lab-fiber.region-peer.conf');
    const storeKey = readFileSync(join(dir, 'keys', 'store-fiber.key'), 'utf8').trim();
    expect(readFileSync(storeConf, 'utf8')).toContain(`PrivateKey = ${storeKey}\n`);
    expect(readFileSync(regionPeer, 'utf8')).not.toContain(storeKey);
    for (const f of [storeConf, regionPeer, join(dir, 'keys', 'store-fiber.key')]) expect(statSync(f).mode & 0o777).toBe(0o600);
  });
});
