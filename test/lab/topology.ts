// A network lab for tests that need the real thing: a "store" network
// namespace (where the gateway runs) joined to a "region" namespace (the
// regional ERP ingress, an nginx) by one veth "underlay" per uplink, each
// carrying its own real WireGuard tunnel (wireguard-go, userspace). The test
// process itself stays in the root namespace and reaches the store's LAN port
// and the region's management side over two more veths. Links can be cut,
// made lossy (nftables) and rate-limited (tc tbf).
//
// No vitest in here (describeLab is in ./describe-lab.ts), so scripts run
// with plain node can use a Lab too.
//
// Address plan, for lab id N (1..200, unique per live lab) and uplink index k
// (0..7, in the order given to Lab.create; default fiber = 0, lte = 1):
//
//   what                 subnet              root ns     store ns    region ns
//   LAN veth             10.200.N.0/30       .1 (test)   .2 (gw)
//   management veth      10.201.N.0/30       .1 (test)               .2 (nginx -> test's upstream)
//   underlay k (veth)    10.(202+k).N.0/30               .1          .2
//   tunnel k (WireGuard) 10.(60+k).N.0/30                .1          .2 (nginx :80)
//
// No namespace has a default route: the store reaches the region only through
// the tunnels, and uplink k's tunnel subnet is its own, so a request to
// uplinks[name].baseUrl can only travel over that uplink (no policy routing).
// The root namespace gets two connected /30 routes and nothing else.
//
// Names (all <= 15 chars; WireGuard names carry the id because wireguard-go's
// UAPI sockets share /run/wireguard/ across namespaces):
//   namespaces        sgwlabN-store, sgwlabN-region
//   root ns           sgwN-lanh (LAN, peer sgwN-lan in store), sgwN-mgmth (peer sgwN-mgmt in region)
//   store ns          sgwN-lan, sgwN-u<k> (underlay), sgwN-w<k> (WireGuard)
//   region ns         sgwN-mgmt, sgwN-u<k>r (underlay), sgwN-w<k>r (WireGuard)
//   WireGuard ports   51820+k on both sides (each namespace has its own port space)
//
// Ownership: /run/sgwlab/N.pid records the owning process (pid + start time)
// and the lab's temp folder. Lab.create() reaps every lab whose owner is gone
// (namespaces, their processes, veths, UAPI sockets, folder), under a short
// mkdir lock (/run/sgwlab/lock) that also makes id allocation atomic.
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants as fsc, existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export type LabNs = 'store' | 'region' | 'host';

export interface LabUplink {
  name: string;
  index: number;
  /** WireGuard interface in the store ns (a route to regionTunnelAddress goes through it). */
  storeWg: string;
  /** WireGuard interface in the region ns. */
  regionWg: string;
  /** Underlay veth end in the store ns: what cut() takes down. */
  storeUnderlay: string;
  /** Underlay veth end in the region ns: where loss() drops. */
  regionUnderlay: string;
  storeUnderlayAddress: string;
  regionUnderlayAddress: string;
  storeTunnelAddress: string;
  regionTunnelAddress: string;
  /** WireGuard listen port, both sides. */
  port: number;
  /** http://<regionTunnelAddress> : nginx in the region, proxying to the upstream given to startNginx. */
  baseUrl: string;
  /** baseUrl + '/ping': answered by nginx itself ("pong\n"), never by the upstream. */
  probeUrl: string;
}

export interface LabOptions {
  /** Uplink names, 1..8 of them, [A-Za-z0-9_-]. Default ['fiber', 'lte']. */
  uplinks?: string[];
  /**
   * WireGuard persistent keepalive from the store side, seconds (0 = off).
   * Default 25, what a real store behind NAT would use. It does NOT govern
   * how fast a restored link carries traffic: session keys live 180 s, so
   * after a shorter cut data flows on the first packet; keepalive only keeps
   * NAT state and the region's view of the store's endpoint fresh. 1 s would
   * cost ~80 B/s per uplink on metered LTE and pollute byte counts.
   */
  keepaliveSec?: number;
}

export interface ShapeOptions {
  /** tbf "latency": the longest a packet may wait in the shaper's queue (sets the queue size). NOT an added delay: netem is unavailable. Default 200. */
  latencyMs?: number;
  /** tbf bucket, tc syntax ('16kb', '4000'). Default max(10 ms of rate, 4000 bytes). */
  burst?: string;
  /** 'up' = store -> region (store underlay egress), 'down' = region -> store (region underlay egress). Default 'both'. */
  direction?: 'both' | 'up' | 'down';
}

export interface StoreHttpResult {
  ok: boolean;
  status?: number;
  /** Response body bytes received. */
  bytes: number;
  /** First 64 KiB of the body as text. */
  body?: string;
  /** Time from the request to the end of the body (or to the failure), ms. */
  ms: number;
  error?: string;
}

const RUN_DIR = '/run/sgwlab';
const WG_DIR = '/run/wireguard';
const MAX_ID = 200;
const MAX_UPLINKS = 8;
const WG_ENV = { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error' };
const SBIN = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const TOOLS: [tool: string, pkg: string][] = [
  ['ip', 'iproute2'],
  ['tc', 'iproute2'],
  ['wireguard-go', 'wireguard-go'],
  ['wg', 'wireguard-tools'],
  ['nft', 'nftables'],
  ['nginx', 'nginx-light'],
];
const INSTALL = 'apt install iproute2 wireguard-go wireguard-tools nftables nginx-light';

// ---------------------------------------------------------------- skip reason

export interface LabEnvironment {
  platform: string;
  uid: number | undefined;
  /** Whether a command is on PATH (or in an sbin directory). */
  has: (cmd: string) => boolean;
  tunDevice: boolean;
}

function onPath(cmd: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN];
  return dirs.some((d) => {
    try {
      accessSync(path.join(d, cmd), fsc.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function currentLabEnvironment(): LabEnvironment {
  return { platform: process.platform, uid: process.getuid?.(), has: onPath, tunDevice: existsSync('/dev/net/tun') };
}

/** undefined when a Lab can be created here; otherwise why not, in words a person can act on. */
export function labSkipReason(env: LabEnvironment = currentLabEnvironment()): string | undefined {
  if (env.platform !== 'linux') return `lab tests need Linux network namespaces (this is ${env.platform})`;
  if (env.uid !== 0) return `lab tests need root (uid ${env.uid ?? 'unknown'})`;
  const missing = TOOLS.filter(([t]) => !env.has(t)).map(([t]) => t);
  if (missing.length > 0) return `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed: ${INSTALL}`;
  if (!env.tunDevice) return 'lab tests need /dev/net/tun (wireguard-go creates a TUN device)';
  return undefined;
}

// ---------------------------------------------------------------- processes

export interface LabExecOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

function run(cmd: string, args: string[], opts: LabExecOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL', env: opts.env ? { ...process.env, ...opts.env } : process.env },
      (err, stdout, stderr) => {
        if (err) {
          const e = new Error(`${[cmd, ...args].join(' ')}: ${stderr.trim() || err.message}`) as Error & { stderr: string; stdout: string; code?: unknown };
          e.stderr = stderr;
          e.stdout = stdout;
          e.code = (err as { code?: unknown }).code;
          reject(e);
        } else resolve({ stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

async function runQuiet(cmd: string, args: string[]): Promise<void> {
  await run(cmd, args).catch(() => undefined);
}

// Every child any Lab spawned and that has not exited yet, across labs, so
// that a test process that dies without destroy() does not leave them behind.
const live = new Map<number, ChildProcess>();
let exitHookInstalled = false;

function killGroup(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

function track(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  live.set(pid, child);
  child.once('exit', () => live.delete(pid));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const p of live.keys()) killGroup(p);
    });
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- ownership

interface Owner {
  pid: number;
  start: string;
  dir?: string;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function me(): Owner {
  return { pid: process.pid, start: startTime(process.pid) ?? '' };
}

function ownerAlive(o: Owner | undefined): boolean {
  return o !== undefined && startTime(o.pid) === o.start;
}

async function readOwner(file: string): Promise<Owner | undefined> {
  try {
    const o = JSON.parse(await fs.readFile(file, 'utf8')) as Owner;
    return typeof o.pid === 'number' ? o : undefined;
  } catch {
    return undefined;
  }
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = path.join(RUN_DIR, 'lock');
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await fs.mkdir(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = await readOwner(path.join(lock, 'owner'));
      const age = await fs.stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (owner ? !ownerAlive(owner) : age > 5000) {
        await fs.rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lab lock ${lock} held for 20 s by pid ${owner?.pid ?? '?'}`);
      await sleep(20 + Math.random() * 30);
    }
  }
  try {
    await fs.writeFile(path.join(lock, 'owner'), JSON.stringify(me()));
    return await fn();
  } finally {
    await fs.rm(lock, { recursive: true, force: true });
  }
}

const nsName = (id: number, which: 'store' | 'region') => `sgwlab${id}-${which}`;
const pidFile = (id: number) => path.join(RUN_DIR, `${id}.pid`);

async function netnsList(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

async function wgSockets(id: number): Promise<string[]> {
  const names = await fs.readdir(WG_DIR).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(`sgw${id}-`) && n.endsWith('.sock')).map((n) => path.join(WG_DIR, n));
}

/** Tear down everything a lab with this id may have left; best effort, reports what failed. */
async function teardown(id: number, dir: string | undefined, errors: string[]): Promise<void> {
  const present = await netnsList().catch(() => [] as string[]);
  for (const which of ['store', 'region'] as const) {
    const ns = nsName(id, which);
    if (!present.includes(ns)) continue;
    // Anything still running inside (wireguard-go, nginx, a test's own process, a hung exec).
    const { stdout } = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
    for (const p of stdout.split('\n').filter(Boolean)) killGroup(Number(p));
  }
  // Deleting a veth deletes its peer at once; a namespace's own teardown is asynchronous.
  for (const host of [`sgw${id}-lanh`, `sgw${id}-mgmth`]) await runQuiet('ip', ['link', 'del', host]);
  for (const which of ['store', 'region'] as const) {
    const ns = nsName(id, which);
    if (!present.includes(ns)) continue;
    await run('ip', ['netns', 'del', ns]).catch((e: Error) => errors.push(e.message));
  }
  for (const s of await wgSockets(id)) await fs.rm(s, { force: true }).catch((e: Error) => errors.push(e.message));
  if (dir && path.dirname(dir) === tmpdir() && path.basename(dir).startsWith('sgwlab')) {
    await fs.rm(dir, { recursive: true, force: true }).catch((e: Error) => errors.push(e.message));
  }
  await fs.rm(pidFile(id), { force: true });
}

/** Under the lock: reap labs whose owner is gone. */
async function reapStale(): Promise<void> {
  const ids = new Set<number>();
  for (const ns of await netnsList()) {
    const m = /^sgwlab(\d+)-(store|region)$/.exec(ns);
    if (m) ids.add(Number(m[1]));
  }
  for (const f of await fs.readdir(RUN_DIR)) {
    const m = /^(\d+)\.pid$/.exec(f);
    if (m) ids.add(Number(m[1]));
  }
  for (const f of await fs.readdir(WG_DIR).catch(() => [] as string[])) {
    const m = /^sgw(\d+)-.*\.sock$/.exec(f);
    if (m) ids.add(Number(m[1]));
  }
  for (const id of ids) {
    const owner = await readOwner(pidFile(id));
    if (ownerAlive(owner)) continue;
    await teardown(id, owner?.dir, []);
  }
}

/** Under the lock: the lowest free id, its store namespace created (the atomic step) and its pid file written. */
async function allocate(): Promise<number> {
  const taken = new Set(await netnsList());
  for (let id = 1; id <= MAX_ID; id++) {
    if (taken.has(nsName(id, 'store')) || taken.has(nsName(id, 'region')) || existsSync(pidFile(id))) continue;
    try {
      await run('ip', ['netns', 'add', nsName(id, 'store')]);
    } catch (e) {
      if (/exists/i.test((e as Error).message)) continue;
      throw e;
    }
    await fs.writeFile(pidFile(id), JSON.stringify(me()));
    return id;
  }
  throw new Error(`no free lab id in 1..${MAX_ID}`);
}

// ---------------------------------------------------------------- the lab

// Runs inside the store namespace: one HTTP request, one JSON line out.
const FETCH_SCRIPT = `
const o = JSON.parse(process.argv[1]);
const t0 = performance.now();
const done = (r) => process.stdout.write(JSON.stringify({ ...r, ms: Math.round(performance.now() - t0) }), () => process.exit(0));
(async () => {
  const body = typeof o.bodyBytes === 'number' ? Buffer.alloc(o.bodyBytes, 120) : o.body;
  const r = await fetch(o.url, { method: o.method ?? (body === undefined ? 'GET' : 'POST'), body, signal: AbortSignal.timeout(o.timeoutMs) });
  let bytes = 0; const keep = [];
  for await (const c of r.body ?? []) { bytes += c.length; if (bytes <= 65536) keep.push(c); }
  done({ ok: true, status: r.status, bytes, body: Buffer.concat(keep).toString('utf8') });
})().catch((e) => done({ ok: false, bytes: 0, error: String(e && e.cause && (e.cause.code || e.cause.message) || (e && e.name) || e) }));
`;

// Runs inside the store namespace: poll URLs until each answers 200 or the deadline.
const WAIT_SCRIPT = `
const o = JSON.parse(process.argv[1]);
const deadline = Date.now() + o.timeoutMs;
const one = async (url) => {
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(500) });
      await r.arrayBuffer();
      if (r.status === 200) return null;
      last = 'status ' + r.status;
    } catch (e) { last = String(e && e.cause && (e.cause.code || e.cause.message) || e); }
    await new Promise((r) => setTimeout(r, 25));
  }
  return url + ': ' + last;
};
Promise.all(o.urls.map(one)).then((errs) => {
  const bad = errs.filter(Boolean);
  process.stdout.write(JSON.stringify(bad), () => process.exit(0));
});
`;

function tunnelAddr(k: number, id: number, host: 1 | 2) {
  return `10.${60 + k}.${id}.${host}`;
}
function underlayAddr(k: number, id: number, host: 1 | 2) {
  return `10.${202 + k}.${id}.${host}`;
}

/** A tc rate (`512kbit`, `2mbit`, `1mbps`) in bytes per second: for the default tbf burst, and the bench's shares of the link. */
export function rateBytesPerSec(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(rate.trim());
  if (!m) throw new Error(`shape: rate "${rate}" is not tc syntax (e.g. 1mbit, 500kbit)`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const bits: Record<string, number> = { bit: 1, '': 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12 };
  const bytes: Record<string, number> = { bps: 1, kbps: 1e3, mbps: 1e6, gbps: 1e9, tbps: 1e12 };
  if (unit in bits) return (n * bits[unit]!) / 8;
  if (unit in bytes) return n * bytes[unit]!;
  throw new Error(`shape: unknown rate unit in "${rate}"`);
}

export class Lab {
  readonly id: number;
  readonly dir: string;
  readonly ns: { store: string; region: string };
  readonly lan: { hostAddress: string; storeAddress: string; hostIface: string; storeIface: string };
  readonly mgmt: { hostAddress: string; regionAddress: string; hostIface: string; regionIface: string };
  readonly uplinks: Record<string, LabUplink>;
  /** How long create() took, ms. */
  get createMs(): number {
    return this.#createMs;
  }

  #createMs = 0;

  readonly #children = new Set<ChildProcess>();
  readonly #pids: number[] = [];
  readonly #keepalive: number;
  readonly #loss = new Map<string, number>();
  #nginx: ChildProcess | undefined;
  #destroyed: Promise<void> | undefined;

  private constructor(id: number, dir: string, uplinkNames: string[], keepalive: number) {
    this.id = id;
    this.dir = dir;
    this.#keepalive = keepalive;
    this.ns = { store: nsName(id, 'store'), region: nsName(id, 'region') };
    this.lan = { hostAddress: `10.200.${id}.1`, storeAddress: `10.200.${id}.2`, hostIface: `sgw${id}-lanh`, storeIface: `sgw${id}-lan` };
    this.mgmt = { hostAddress: `10.201.${id}.1`, regionAddress: `10.201.${id}.2`, hostIface: `sgw${id}-mgmth`, regionIface: `sgw${id}-mgmt` };
    const uplinks: Record<string, LabUplink> = {};
    uplinkNames.forEach((name, k) => {
      const base = `http://${tunnelAddr(k, id, 2)}`;
      uplinks[name] = {
        name,
        index: k,
        storeWg: `sgw${id}-w${k}`,
        regionWg: `sgw${id}-w${k}r`,
        storeUnderlay: `sgw${id}-u${k}`,
        regionUnderlay: `sgw${id}-u${k}r`,
        storeUnderlayAddress: underlayAddr(k, id, 1),
        regionUnderlayAddress: underlayAddr(k, id, 2),
        storeTunnelAddress: tunnelAddr(k, id, 1),
        regionTunnelAddress: tunnelAddr(k, id, 2),
        port: 51820 + k,
        baseUrl: base,
        probeUrl: `${base}/ping`,
      };
    });
    this.uplinks = uplinks;
  }

  static async create(opts: LabOptions = {}): Promise<Lab> {
    const reason = labSkipReason();
    if (reason) throw new Error(reason);
    const names = opts.uplinks ?? ['fiber', 'lte'];
    if (names.length < 1 || names.length > MAX_UPLINKS) throw new Error(`a lab has 1..${MAX_UPLINKS} uplinks, not ${names.length}`);
    if (new Set(names).size !== names.length) throw new Error(`uplink names repeat: ${names.join(', ')}`);
    for (const n of names) if (!/^[A-Za-z0-9_-]{1,32}$/.test(n)) throw new Error(`uplink name "${n}": use [A-Za-z0-9_-]`);
    const keepalive = opts.keepaliveSec ?? 25;

    const t0 = performance.now();
    await fs.mkdir(RUN_DIR, { recursive: true });
    const id = await withLock(async () => {
      await reapStale();
      return allocate();
    });
    let dir: string | undefined;
    let lab: Lab | undefined;
    try {
      dir = await fs.mkdtemp(path.join(tmpdir(), `sgwlab${id}-`));
      await fs.writeFile(pidFile(id), JSON.stringify({ ...me(), dir }));
      lab = new Lab(id, dir, names, keepalive);
      await lab.#build();
      lab.#createMs = Math.round(performance.now() - t0);
      return lab;
    } catch (e) {
      if (lab) await lab.destroy().catch(() => undefined);
      else await teardown(id, dir, []);
      throw e;
    }
  }

  // ------------------------------------------------------------ public API

  /** execFile, inside the namespace (`ip netns exec <ns> cmd ...`); 'host' runs in the test's own namespace. Rejects on a non-zero exit. */
  exec(ns: LabNs, cmd: string, args: string[], opts: LabExecOptions = {}): Promise<{ stdout: string; stderr: string }> {
    return ns === 'host' ? run(cmd, args, opts) : run('ip', ['netns', 'exec', this.#nsOf(ns), cmd, ...args], opts);
  }

  /**
   * spawn, inside the namespace, as the leader of a new process group; killed
   * (SIGKILL to the group) by destroy() and when this process exits. Options
   * are node's (stdio defaults to 'pipe' as usual: read or ignore it).
   */
  spawn(ns: LabNs, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    if (this.#destroyed) throw new Error(`lab ${this.id} is destroyed`);
    const child = ns === 'host' ? spawn(cmd, args, { ...opts, detached: true }) : spawn('ip', ['netns', 'exec', this.#nsOf(ns), cmd, ...args], { ...opts, detached: true });
    track(child);
    this.#children.add(child);
    if (child.pid !== undefined) this.#pids.push(child.pid);
    child.once('exit', () => this.#children.delete(child));
    // An error event (ENOENT...) must not crash the test process; the exit event follows.
    child.on('error', () => undefined);
    return child;
  }

  /** Pids of every process this lab spawned (alive or not), for tests that check cleanup. */
  get spawnedPids(): readonly number[] {
    return this.#pids;
  }

  /** One HTTP request from inside the store namespace (a node child there running fetch). Never rejects for network errors: see ok/error. */
  async httpFromStore(url: string, opts: { timeoutMs?: number; method?: string; body?: string; bodyBytes?: number } = {}): Promise<StoreHttpResult> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const { stdout } = await this.exec('store', process.execPath, ['-e', FETCH_SCRIPT, JSON.stringify({ ...opts, url, timeoutMs })], { timeoutMs: timeoutMs + 10_000 });
    return JSON.parse(stdout) as StoreHttpResult;
  }

  /** Until each URL answers 200 from the store namespace (25 ms polling). */
  async waitFromStore(urls: string[], timeoutMs = 5000): Promise<void> {
    const { stdout } = await this.exec('store', process.execPath, ['-e', WAIT_SCRIPT, JSON.stringify({ urls, timeoutMs })], { timeoutMs: timeoutMs + 10_000 });
    const bad = JSON.parse(stdout) as string[];
    if (bad.length > 0) throw new Error(`not answering from the store namespace after ${timeoutMs} ms: ${bad.join('; ')}`);
  }

  /**
   * nginx in the region namespace on port 80 of every regionTunnelAddress:
   * /ping answers "pong\n" itself; everything else is proxied, unbuffered both
   * ways, to upstreamOrigin (listen on mgmt.hostAddress in the test process).
   * Adds `x-lab-uplink: <name>` so the upstream can tell which tunnel a
   * request came through. Resolves once /ping answers through every tunnel.
   */
  async startNginx(upstreamOrigin: string): Promise<void> {
    if (this.#nginx) throw new Error('nginx is already running in this lab');
    const origin = new URL(upstreamOrigin);
    if (origin.protocol !== 'http:' || origin.pathname !== '/' || origin.search) throw new Error(`startNginx: want an http origin like http://${this.mgmt.hostAddress}:PORT, got ${upstreamOrigin}`);
    const d = this.dir;
    const tmp = path.join(d, 'nginx-tmp');
    await fs.mkdir(tmp, { recursive: true });
    const servers = Object.values(this.uplinks)
      .map(
        (u) => `
  server {
    listen ${u.regionTunnelAddress}:80;
    location = /ping { default_type text/plain; return 200 "pong\\n"; }
    location / {
      proxy_pass http://upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Lab-Uplink ${u.name};
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_connect_timeout 5s;
      proxy_send_timeout 300s;
      proxy_read_timeout 300s;
    }
  }`,
      )
      .join('\n');
    const conf = `# generated by test/lab/topology.ts for lab ${this.id}
user root;
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log ${d}/nginx-access.log;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  client_max_body_size 0;
  keepalive_timeout 65s;
  upstream upstream {
    server ${origin.host};
    keepalive 16;
  }
${servers}
}
`;
    const confFile = path.join(d, 'nginx.conf');
    await fs.writeFile(confFile, conf);
    const log = await fs.open(path.join(d, 'nginx-stderr.log'), 'a');
    try {
      this.#nginx = this.spawn('region', 'nginx', ['-p', d, '-e', `${d}/nginx-error.log`, '-c', confFile, '-g', 'daemon off;'], { stdio: ['ignore', log.fd, log.fd] });
    } finally {
      await log.close();
    }
    const nginx = this.#nginx;
    let onExit: (() => void) | undefined;
    const died = new Promise<'died'>((resolve) => nginx.once('exit', (onExit = () => resolve('died'))));
    const ready = this.waitFromStore(Object.values(this.uplinks).map((u) => u.probeUrl), 5000).then(() => 'ready' as const);
    try {
      if ((await Promise.race([ready, died])) === 'died') {
        const err = await fs.readFile(path.join(d, 'nginx-error.log'), 'utf8').catch(() => '');
        throw new Error(`nginx exited at start (${nginx.exitCode ?? nginx.signalCode}): ${err.trim().split('\n').slice(-5).join(' | ')}`);
      }
    } finally {
      nginx.off('exit', onExit!);
      ready.catch(() => undefined);
    }
  }

  /** A WAN cut: the store's underlay veth for this uplink goes down (the region side loses carrier). */
  async cut(uplink: string): Promise<void> {
    await this.#ip(this.ns.store, ['link', 'set', this.#uplink(uplink).storeUnderlay, 'down']);
  }

  /**
   * The link comes back. Session keys outlive short cuts (180 s), so data
   * flows on the first packet without a new handshake; a keepalive is sent
   * at once (toggling persistent-keepalive makes wireguard-go send one) so
   * the region sees the store again before the first request. With
   * { rekey: true } the store's peer is re-added, forcing a fresh handshake
   * (use after cuts longer than WireGuard's key lifetime).
   */
  async restore(uplink: string, opts: { rekey?: boolean } = {}): Promise<void> {
    const u = this.#uplink(uplink);
    await this.#ip(this.ns.store, ['link', 'set', u.storeUnderlay, 'up']);
    if (opts.rekey) {
      const pub = (await fs.readFile(path.join(this.dir, 'keys', `${u.regionWg}.pub`), 'utf8')).trim();
      await this.exec('store', 'wg', ['set', u.storeWg, 'peer', pub, 'remove']);
      await this.#setStorePeer(u);
    } else {
      await this.#kick(u);
    }
  }

  /**
   * Drops pct % (0..100, 0.01 resolution) of the packets on this uplink's
   * underlay, in the region namespace: pct applies to EACH direction
   * independently, so a request/response round trip is lost with probability
   * 1 - (1 - pct/100)^2. loss(uplink, 0) removes it.
   */
  async loss(uplink: string, pct: number): Promise<void> {
    const u = this.#uplink(uplink);
    if (!(pct >= 0 && pct <= 100)) throw new Error(`loss: pct must be 0..100, not ${pct}`);
    if (pct === 0) this.#loss.delete(u.name);
    else this.#loss.set(u.name, pct);
    const file = path.join(this.dir, 'loss.nft');
    const rules = (dir: 'iifname' | 'oifname') =>
      [...this.#loss]
        .map(([name, p]) => `    ${dir} "${this.#uplink(name).regionUnderlay}"${p >= 100 ? '' : ` numgen random mod 10000 < ${Math.round(p * 100)}`} drop`)
        .join('\n');
    // "add; delete; add" replaces the table atomically whether or not it existed.
    let text = 'add table inet sgwlab\ndelete table inet sgwlab\n';
    if (this.#loss.size > 0) {
      text += `table inet sgwlab {
  chain pre {
    type filter hook prerouting priority -300; policy accept;
${rules('iifname')}
  }
  chain post {
    type filter hook postrouting priority 300; policy accept;
${rules('oifname')}
  }
}
`;
    }
    await fs.writeFile(file, text);
    await this.exec('region', 'nft', ['-f', file]);
  }

  /**
   * tc tbf on the underlay: rate applies to each direction chosen (egress
   * of the store side = upload, egress of the region side = download).
   * shape(uplink, '') removes it (same as unshape).
   */
  async shape(uplink: string, rate: string, opts: ShapeOptions = {}): Promise<void> {
    const u = this.#uplink(uplink);
    if (rate === '') return this.unshape(uplink);
    const burst = opts.burst ?? String(Math.max(4000, Math.ceil(rateBytesPerSec(rate) * 0.01)));
    const latency = `${opts.latencyMs ?? 200}ms`;
    const dir = opts.direction ?? 'both';
    const sides: [string, string, boolean][] = [
      [this.ns.store, u.storeUnderlay, dir !== 'down'],
      [this.ns.region, u.regionUnderlay, dir !== 'up'],
    ];
    for (const [ns, dev, on] of sides) {
      if (on) await run('tc', ['-n', ns, 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', burst, 'latency', latency]);
      else await runQuiet('tc', ['-n', ns, 'qdisc', 'del', 'dev', dev, 'root']);
    }
  }

  /** Bytes the region side's shaper on this uplink has sent towards the store (the link's downstream), Ethernet headers included, as tbf counts against its rate. */
  async sentDown(uplink: string): Promise<number> {
    const { stdout } = await run('tc', ['-n', this.ns.region, '-s', 'qdisc', 'show', 'dev', this.#uplink(uplink).regionUnderlay]);
    const m = /Sent (\d+) bytes/.exec(stdout);
    if (!m) throw new Error(`tc -s qdisc: no byte count for ${uplink}'s region side`);
    return Number(m[1]);
  }

  async unshape(uplink: string): Promise<void> {
    const u = this.#uplink(uplink);
    await runQuiet('tc', ['-n', this.ns.store, 'qdisc', 'del', 'dev', u.storeUnderlay, 'root']);
    await runQuiet('tc', ['-n', this.ns.region, 'qdisc', 'del', 'dev', u.regionUnderlay, 'root']);
  }

  /** Seconds since the epoch of the store side's latest handshake on this uplink (0 = never). */
  async latestHandshake(uplink: string): Promise<number> {
    const u = this.#uplink(uplink);
    const { stdout } = await this.exec('store', 'wg', ['show', u.storeWg, 'latest-handshakes']);
    return Number(stdout.trim().split(/\s+/)[1] ?? 0);
  }

  /** Idempotent. Kills every process the lab spawned, deletes the namespaces (and with them veths and tunnels), the UAPI sockets, the pid file and lab.dir. */
  destroy(): Promise<void> {
    this.#destroyed ??= (async () => {
      const errors: string[] = [];
      const children = [...this.#children];
      for (const c of children) if (c.pid !== undefined) killGroup(c.pid);
      const gone = await Promise.all(children.map((c) => exited(c, 3000)));
      gone.forEach((ok, i) => ok || errors.push(`pid ${children[i]!.pid} did not exit after SIGKILL`));
      await teardown(this.id, this.dir, errors);
      if (errors.length > 0) throw new Error(`lab ${this.id} destroy: ${errors.join('; ')}`);
    })();
    return this.#destroyed;
  }

  // ------------------------------------------------------------ building

  async #build(): Promise<void> {
    const { store, region } = this.ns;
    const ups = Object.values(this.uplinks);
    await run('ip', ['netns', 'add', region]);
    // Leftovers in the root namespace under our names (an earlier lab's async teardown).
    await runQuiet('ip', ['link', 'del', this.lan.hostIface]);
    await runQuiet('ip', ['link', 'del', this.mgmt.hostIface]);
    await this.#checkRootAddresses();

    // No IPv6 on lab links: no router solicitations or MLD muddying byte
    // counts. Best effort (sysctl is procps, not always installed).
    const noV6 = ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];
    await Promise.all([
      this.exec('store', 'sysctl', noV6).catch(() => undefined),
      this.exec('region', 'sysctl', noV6).catch(() => undefined),
      fs.mkdir(path.join(this.dir, 'keys'), { mode: 0o700 }),
    ]);

    const root = [
      `link add ${this.lan.hostIface} type veth peer name ${this.lan.storeIface} netns ${store}`,
      `link add ${this.mgmt.hostIface} type veth peer name ${this.mgmt.regionIface} netns ${region}`,
      ...ups.map((u) => `link add ${u.storeUnderlay} netns ${store} type veth peer name ${u.regionUnderlay} netns ${region}`),
    ];
    await this.#batch(undefined, root);
    for (const dev of [this.lan.hostIface, this.mgmt.hostIface]) {
      await fs.writeFile(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, '1').catch(() => undefined);
    }
    await Promise.all([
      this.#batch(undefined, [
        `addr add ${this.lan.hostAddress}/30 dev ${this.lan.hostIface}`,
        `addr add ${this.mgmt.hostAddress}/30 dev ${this.mgmt.hostIface}`,
        `link set ${this.lan.hostIface} up`,
        `link set ${this.mgmt.hostIface} up`,
      ]),
      this.#batch(store, [
        'link set lo up',
        `addr add ${this.lan.storeAddress}/30 dev ${this.lan.storeIface}`,
        `link set ${this.lan.storeIface} up`,
        ...ups.flatMap((u) => [`addr add ${u.storeUnderlayAddress}/30 dev ${u.storeUnderlay}`, `link set ${u.storeUnderlay} up`]),
      ]),
      this.#batch(region, [
        'link set lo up',
        `addr add ${this.mgmt.regionAddress}/30 dev ${this.mgmt.regionIface}`,
        `link set ${this.mgmt.regionIface} up`,
        ...ups.flatMap((u) => [`addr add ${u.regionUnderlayAddress}/30 dev ${u.regionUnderlay}`, `link set ${u.regionUnderlay} up`]),
      ]),
      ...ups.flatMap((u) => [this.#keys(u.storeWg), this.#keys(u.regionWg)]),
      ...ups.flatMap((u) => [this.#startWireguard('store', u.storeWg), this.#startWireguard('region', u.regionWg)]),
    ]);

    // The region first, so the store's first handshake initiation finds its peer.
    await Promise.all(
      ups.map(async (u) => {
        const storePub = await this.#pub(u.storeWg);
        await this.exec('region', 'wg', ['set', u.regionWg, 'private-key', this.#keyFile(u.regionWg), 'listen-port', String(u.port), 'peer', storePub, 'allowed-ips', `${u.storeTunnelAddress}/32`]);
        await this.#batch(region, [`addr add ${u.regionTunnelAddress}/30 dev ${u.regionWg}`, `link set ${u.regionWg} up`]);
      }),
    );
    await Promise.all(
      ups.map(async (u) => {
        await this.exec('store', 'wg', ['set', u.storeWg, 'private-key', this.#keyFile(u.storeWg), 'listen-port', String(u.port)]);
        await this.#setStorePeer(u);
        await this.#batch(store, [`addr add ${u.storeTunnelAddress}/30 dev ${u.storeWg}`, `link set ${u.storeWg} up`]);
        await this.#kick(u);
      }),
    );
    // Every tunnel has shaken hands before create() returns.
    const deadline = Date.now() + 5000;
    for (const u of ups) {
      while ((await this.latestHandshake(u.name)) === 0) {
        if (Date.now() > deadline) throw new Error(`no WireGuard handshake on ${u.name} (${u.storeWg}) within 5 s`);
        await sleep(10);
      }
    }
  }

  async #setStorePeer(u: LabUplink): Promise<void> {
    const regionPub = await this.#pub(u.regionWg);
    await this.exec('store', 'wg', [
      'set', u.storeWg,
      'peer', regionPub,
      'endpoint', `${u.regionUnderlayAddress}:${u.port}`,
      'allowed-ips', `${u.regionTunnelAddress}/32`,
      'persistent-keepalive', String(this.#keepalive),
    ]);
  }

  /** wireguard-go sends a keepalive at once when persistent keepalive goes from off to on; with it off, send nothing. */
  async #kick(u: LabUplink): Promise<void> {
    if (this.#keepalive === 0) return;
    const pub = await this.#pub(u.regionWg);
    await this.exec('store', 'wg', ['set', u.storeWg, 'peer', pub, 'persistent-keepalive', '0']);
    await this.exec('store', 'wg', ['set', u.storeWg, 'peer', pub, 'persistent-keepalive', String(this.#keepalive)]);
  }

  #keyFile(iface: string): string {
    return path.join(this.dir, 'keys', `${iface}.key`);
  }

  async #keys(iface: string): Promise<void> {
    const { stdout: priv } = await run('wg', ['genkey']);
    const { stdout: pub } = await run('wg', ['pubkey'], { input: priv });
    await fs.mkdir(path.join(this.dir, 'keys'), { recursive: true, mode: 0o700 });
    await fs.writeFile(this.#keyFile(iface), priv, { mode: 0o600 });
    await fs.writeFile(path.join(this.dir, 'keys', `${iface}.pub`), pub, { mode: 0o600 });
  }

  async #pub(iface: string): Promise<string> {
    return (await fs.readFile(path.join(this.dir, 'keys', `${iface}.pub`), 'utf8')).trim();
  }

  async #startWireguard(ns: 'store' | 'region', iface: string): Promise<void> {
    const sock = path.join(WG_DIR, `${iface}.sock`);
    const log = await fs.open(path.join(this.dir, `${iface}.log`), 'a');
    let child: ChildProcess;
    try {
      child = this.spawn(ns, 'wireguard-go', ['-f', iface], { stdio: ['ignore', log.fd, log.fd], env: { ...process.env, ...WG_ENV } });
    } finally {
      await log.close();
    }
    const deadline = Date.now() + 5000;
    // The socket appears after the TUN device: once it is there, `wg set` works.
    while (!existsSync(sock)) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const text = await fs.readFile(path.join(this.dir, `${iface}.log`), 'utf8').catch(() => '');
        throw new Error(`wireguard-go ${iface} exited (${child.exitCode ?? child.signalCode}): ${text.trim()}`);
      }
      if (Date.now() > deadline) throw new Error(`wireguard-go ${iface}: no UAPI socket ${sock} after 5 s`);
      await sleep(5);
    }
  }

  async #batch(ns: string | undefined, lines: string[]): Promise<void> {
    const file = path.join(this.dir, `batch-${Math.random().toString(36).slice(2)}.ip`);
    await fs.writeFile(file, lines.join('\n') + '\n');
    try {
      await run('ip', [...(ns ? ['-n', ns] : []), '-batch', file]);
    } finally {
      await fs.rm(file, { force: true });
    }
  }

  #ip(ns: string, args: string[]) {
    return run('ip', ['-n', ns, ...args]);
  }

  /** The root namespace must not already route the LAN/management /30s somewhere else. */
  async #checkRootAddresses(): Promise<void> {
    const { stdout } = await run('ip', ['-j', '-4', 'addr', 'show']);
    const toInt = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    const ours = [toInt(this.lan.hostAddress), toInt(this.mgmt.hostAddress)];
    for (const dev of JSON.parse(stdout) as { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[]) {
      for (const a of dev.addr_info ?? []) {
        const size = 2 ** (32 - a.prefixlen);
        const net = Math.floor(toInt(a.local) / size) * size;
        if (a.prefixlen > 0 && ours.some((o) => o >= net && o < net + size)) {
          throw new Error(`lab ${this.id}: ${dev.ifname} has ${a.local}/${a.prefixlen}, overlapping the lab's ${this.lan.hostAddress}/30 or ${this.mgmt.hostAddress}/30`);
        }
      }
    }
  }

  #nsOf(ns: 'store' | 'region'): string {
    return ns === 'store' ? this.ns.store : this.ns.region;
  }

  #uplink(name: string): LabUplink {
    const u = this.uplinks[name];
    if (!u) throw new Error(`lab ${this.id} has no uplink "${name}" (has ${Object.keys(this.uplinks).join(', ')})`);
    return u;
  }
}
