// storegw wg keygen | peer-config: a store's WireGuard keys and tunnel
// configs (deploy/wireguard). Files are written whole or not at all (temp
// file, fsync, then link or rename), private material mode 0600, and an
// existing file is only replaced with --force: a lost private key means a
// store that cannot reach its region until someone re-keys both sides.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './usage.js';
import { PeerConfigError, checkPeerConfig, encodeKey, generatePrivateKey, parseKeyFile, publicKeyOf, renderGatewayPath, renderRegionPeer, renderStoreConfig } from './wg-config.js';

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A key file is 45 bytes; anything much larger is not one. */
const MAX_KEY_FILE = 1024;

export async function wgCommand(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'keygen':
      return keygen(rest, out);
    case 'peer-config':
      return peerConfig(rest, out, err);
    default:
      throw new UsageError(sub === undefined ? 'a subcommand is required: keygen or peer-config' : sub.startsWith('-') ? `Unknown option '${sub}'` : `unknown wg command: ${sub}`);
  }
}

function keygen(args: string[], out: (s: string) => void): number {
  const { values } = parseArgs({ args, options: { out: { type: 'string' }, name: { type: 'string', default: 'wg' }, force: { type: 'boolean', default: false } } });
  if (!values.out) throw new UsageError('keygen needs --out DIR');
  if (!KEY_NAME.test(values.name)) throw new UsageError(`--name: "${values.name}" must be letters, digits, . _ - (up to 64)`);
  const privateKey = generatePrivateKey();
  const publicKey = encodeKey(publicKeyOf(privateKey));
  const keyFile = join(values.out, `${values.name}.key`);
  const pubFile = join(values.out, `${values.name}.pub`);
  mkdirSync(values.out, { recursive: true, mode: 0o700 });
  // Both or neither: refuse before writing anything if either exists.
  writeAll([
    { file: keyFile, text: `${encodeKey(privateKey)}\n`, mode: 0o600 },
    { file: pubFile, text: `${publicKey}\n`, mode: 0o644 },
  ], values.force);
  out(`${keyFile} (private, 0600)`);
  out(`${pubFile}: ${publicKey}`);
  return 0;
}

function peerConfig(args: string[], out: (s: string) => void, err: (s: string) => void): number {
  const { values } = parseArgs({
    args,
    options: {
      store: { type: 'string' },
      uplink: { type: 'string' },
      'store-key': { type: 'string' },
      'region-public-key': { type: 'string' },
      endpoint: { type: 'string' },
      'tunnel-address': { type: 'string' },
      'region-address': { type: 'string' },
      interface: { type: 'string' },
      keepalive: { type: 'string' },
      'listen-port': { type: 'string' },
      mtu: { type: 'string' },
      out: { type: 'string' },
      print: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
  });
  const required = ['store', 'uplink', 'store-key', 'region-public-key', 'endpoint', 'tunnel-address', 'region-address'] as const;
  const missing = required.filter((k) => values[k] === undefined);
  if (missing.length > 0) throw new UsageError(`missing: ${missing.map((k) => `--${k}`).join(', ')}`);
  // The store's config holds its private key: it goes to a file, or to stdout only when asked for.
  if ((values.out === undefined) === !values.print) throw new UsageError('one of --out DIR (files) or --print (stdout, private key included)');

  let config;
  try {
    config = checkPeerConfig({
      storeId: values.store!,
      uplink: values.uplink!,
      interfaceName: values.interface,
      storePrivateKey: readPrivateKey(values['store-key']!),
      regionPublicKey: values['region-public-key']!,
      endpoint: values.endpoint!,
      tunnelAddress: values['tunnel-address']!,
      regionAddress: values['region-address']!,
      keepaliveSec: values.keepalive,
      listenPort: values['listen-port'],
      mtu: values.mtu,
    });
  } catch (e) {
    if (!(e instanceof PeerConfigError)) throw e;
    for (const p of e.problems) err(`storegw wg peer-config: ${p}`);
    return 2;
  }
  const store = renderStoreConfig(config);
  const region = renderRegionPeer(config);
  if (values.print) {
    out(store);
    out(region);
    return 0;
  }
  const storeFile = join(values.out!, `${config.interfaceName}.conf`);
  const regionFile = join(values.out!, `${config.storeId}-${config.uplink}.region-peer.conf`);
  mkdirSync(values.out!, { recursive: true, mode: 0o700 });
  writeAll([
    { file: storeFile, text: store, mode: 0o600 },
    { file: regionFile, text: region, mode: 0o600 },
  ], values.force);
  out(`${storeFile}: the store's tunnel (wg-quick; holds the private key)`);
  out(`${regionFile}: the region's [Peer] for it (store public key ${encodeKey(publicKeyOf(config.storePrivateKey))})`);
  out(`in gateway.yaml, under paths:\n${renderGatewayPath(config)}`);
  return 0;
}

/** Reads a private key file, refusing one that others can read: it may already have leaked. */
function readPrivateKey(file: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new Error(`${file}: cannot read the private key (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file}: not a regular file`);
    if ((st.mode & 0o077) !== 0) throw new Error(`${file}: private key readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it, and re-key if it may have been copied`);
    const buf = Buffer.alloc(MAX_KEY_FILE + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const key = n <= MAX_KEY_FILE ? parseKeyFile(buf.subarray(0, n).toString('latin1')) : undefined;
    // The content is never echoed: a wrong file may still hold a secret.
    if (key === undefined) throw new Error(`${file}: not a WireGuard private key (one line of 44 base64 characters, as \`wg genkey\` writes)`);
    return key;
  } finally {
    closeSync(fd);
  }
}

interface Output {
  file: string;
  text: string;
  mode: number;
}

/** Writes every file in full, or fails before the first one appears when one exists and force is off. */
function writeAll(files: Output[], force: boolean): void {
  const temps: (Output & { tmp: string })[] = [];
  try {
    for (const f of files) temps.push({ ...f, tmp: writeTemp(f) });
    if (force) {
      for (const t of temps) renameSync(t.tmp, t.file);
    } else {
      // link() fails with EEXIST instead of replacing: no window where a check passes and a file appears after.
      const done: string[] = [];
      for (const t of temps) {
        try {
          linkSync(t.tmp, t.file);
          done.push(t.file);
        } catch (e) {
          for (const f of done) unlinkSync(f);
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${t.file} exists; --force replaces it`);
          throw e;
        }
      }
    }
  } finally {
    for (const t of temps) {
      try {
        unlinkSync(t.tmp);
      } catch {
        // Renamed already.
      }
    }
  }
  syncDir(dirname(files[0]!.file));
}

function writeTemp(f: Output): string {
  const tmp = `${f.file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  let ok = false;
  try {
    // The umask may have cut the mode at open; the mode asked for is the mode meant.
    fchmodSync(fd, f.mode);
    writeSync(fd, f.text);
    fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) unlinkSync(tmp);
  }
  return tmp;
}

/** The new names survive a power cut only once their directory is synced. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
