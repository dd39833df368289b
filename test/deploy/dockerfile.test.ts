// The Dockerfile, without a Docker engine: linted (./dockerfile.ts), then
// built on this machine (its deps and build stages' RUN commands for real,
// in a network namespace whose only way out is the npm registry), and the final
// stage's file system run as the image's user: storegw's commands, the
// gateway and its HEALTHCHECK, the hub and its dashboard.
//
// Time: the first run compiles better-sqlite3 from source (about a minute on
// two cores; the build stage runs alongside it). Stage results are then kept
// by a hash of their inputs, as docker's layer cache keeps layers, so later
// runs redo only the stages whose inputs changed (a source edit: the build
// stage, ~15 s).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, defaultCacheDir, dockerignore, execForm, flags, lastOf, lint, parseDockerfile, stageEnv, type BuildResult, type LintContext } from './dockerfile.js';
import { RegistryOnlyNetwork } from './registry-only.js';
import { GATEWAY_NODE_FLAGS } from '../support/gateway-process.js';

const dockerfile = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const ignored = dockerignore(readFileSync('.dockerignore', 'utf8'));
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { storegw: string }; engines: { node: string } };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean; hasInstallScript?: boolean }> };
const ctx: LintContext = {
  context: '.',
  ignored,
  enginesNode: pkg.engines.node,
  nativePackages: Object.entries(lock.packages).filter(([k, v]) => k !== '' && v.hasInstallScript && !v.dev).map(([k]) => k),
};
const final = dockerfile.stages.at(-1)!;
const exec = (keyword: string) => execForm(lastOf(final, keyword)!.args)!;
const healthcheck = execForm(/^CMD\s+(.*)$/.exec(flags(lastOf(final, 'HEALTHCHECK')!.args).rest)![1]!)!;
const [uid, gid] = lastOf(final, 'USER')!.args.trim().split(':').map(Number) as [number, number];
const root = process.getuid?.() === 0;

describe('Dockerfile (lint)', () => {
  it('keeps its promises: pinned bases, non-root user, health check, exec form, production dependencies only', () => {
    expect(lint(dockerfile, ctx)).toEqual([]);
  });

  it('(the checker) finds each of those broken in a bad Dockerfile', () => {
    const bad = parseDockerfile(
      [
        'FROM node:latest AS deps',
        'RUN npm ci --ignore-scripts',
        'FROM node:20-bookworm-slim',
        'RUN apt-get update && apt-get install -y g++',
        'COPY no-such-file ./',
        'COPY node_modules ./',
        'COPY --from=nowhere /x /y',
        'COPY --from=deps /deps/node_modules node_modules',
        'RUN npm install',
        'USER storegw',
        'ENTRYPOINT node /app/dist/src/cli/main.js',
        'CMD ["gateway"]',
      ].join('\n'),
    );
    const problems = lint(bad, { ...ctx, ignored: dockerignore('node_modules') }).join('\n');
    for (const expected of [
      'FROM node:latest is not pinned',
      'FROM node:20-bookworm-slim is not pinned',
      'without --no-install-recommends',
      'apt lists left in the layer',
      'build tool g++ in the final image',
      'COPY no-such-file: not in the build context',
      'COPY node_modules: excluded by .dockerignore',
      'COPY --from=nowhere is not an earlier stage',
      'npm installs in the final stage',
      'npm ci without --omit=dev',
      'better-sqlite3 has an install script, skipped by --ignore-scripts and never rebuilt',
      'USER storegw is not numeric',
      'no HEALTHCHECK',
      'ENTRYPOINT is not exec form',
    ]) expect(problems).toContain(expected);
    expect(lint(parseDockerfile('FROM node:18.0.0-slim\nUSER 0\n'), ctx).join('\n')).toMatch(/node 18\.0\.0 is below package\.json engines[\s\S]*USER is root/);
  });

  it('is the image the rest of deploy/ expects: storegw as entrypoint, the gateway by default, uid 10001, /var/lib/storegw a volume', () => {
    expect(exec('ENTRYPOINT')).toEqual(['node', `/app/${pkg.bin.storegw}`]);
    expect(exec('CMD')).toEqual(['gateway', '--config', '/etc/storegw/gateway.yaml']);
    expect(lastOf(final, 'WORKDIR')!.args).toBe('/app');
    // The gateway as it is tested (the soak's RSS budget holds with these flags); the hub's deployment sets its own.
    expect(stageEnv(final).NODE_OPTIONS).toBe(GATEWAY_NODE_FLAGS.join(' '));
    expect(execForm(lastOf(final, 'VOLUME')!.args)).toEqual(['/var/lib/storegw']);
    expect([uid, gid]).toEqual([10001, 10001]);
    expect(healthcheck.slice(0, 2)).toEqual(['node', '-e']);
    expect(healthcheck[2]).toContain("'http://127.0.0.1:9080/healthz'");
    // Every stage on the same Node, the one the lint checked, and the one CI runs the suite on.
    expect(new Set(dockerfile.stages.map((s) => s.from)).size).toBe(1);
    const ciNode = /^NODE_TARGET=(\d+\.\d+\.\d+)$/m.exec(readFileSync('.ci/run', 'utf8'))?.[1];
    expect(dockerfile.stages[0]!.from.startsWith(`node:${ciNode}-`), `${dockerfile.stages[0]!.from} is not .ci/run's Node ${ciNode}`).toBe(true);
    // node-gyp finds the headers where the official image keeps them instead of downloading them.
    expect(stageEnv(dockerfile.stages.find((s) => s.name === 'deps')!)).toMatchObject({ npm_config_build_from_source: 'true', npm_config_nodedir: '/usr/local' });
  });

  it('sends a context of sources only (.dockerignore)', () => {
    for (const p of ['src/cli/main.ts', 'sync/journal.ts', 'edge-config/examples/demo.yaml', 'edge-config/storegw.schema.json', 'src/fleet/dashboard/public/index.html', 'package.json', '.tsconfig.build.json', 'LICENSE']) expect(ignored(p), p).toBe(false);
    for (const p of ['node_modules/yaml/package.json', 'dist/src/cli/main.js', 'data/journal.db', 'test/lab/topology.ts', 'src/cli/wg-cmd.test.ts', 'test-output/bench/x.json', '.git/HEAD']) expect(ignored(p), p).toBe(true);
  });
});

/** Runs a command as the image's user (when this test is root), in the image's /app, with the image's ENV. */
function asImageUser(app: string, args: string[], env: Record<string, string> = {}) {
  return {
    cwd: app,
    env: { PATH: process.env.PATH!, HOME: '/nonexistent', ...stageEnv(final), ...env },
    ...(root && { uid, gid }),
    args,
  };
}

function runOnce(app: string, args: string[], env: Record<string, string> = {}) {
  const o = asImageUser(app, args, env);
  return spawnSync(process.execPath, o.args, { ...o, encoding: 'utf8', timeout: 20_000 });
}

/** Starts a long-running command and resolves with its first JSON log line whose msg is `msg`. */
function startUntil(app: string, args: string[], msg: string, children: ChildProcess[]): Promise<{ child: ChildProcess; line: Record<string, unknown> }> {
  const o = asImageUser(app, args);
  const child = spawn(process.execPath, o.args, { ...o, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${msg}" within 20 s:\n${out}`)), 20_000);
    child.stderr!.on('data', (c: Buffer) => (out += c));
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      for (const l of out.split('\n')) {
        if (!l.startsWith('{')) continue;
        const line = JSON.parse(l) as Record<string, unknown>;
        if (line.msg === msg) {
          clearTimeout(timer);
          resolve({ child, line });
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code} before "${msg}":\n${out}`)));
  });
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

describe('Dockerfile (build stages run here, final stage run as the image user)', () => {
  let built: BuildResult;
  let app: string;
  let scratch: string;
  const children: ChildProcess[] = [];
  let network: RegistryOnlyNetwork;

  beforeAll(async () => {
    const registry = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).stdout.trim();
    network = await RegistryOnlyNetwork.open(registry, root);
    scratch = mkdtempSync(join(tmpdir(), 'storegw-image-'));
    // The image's file system must be readable by the image user, as a container's is.
    chmodSync(scratch, 0o755);
    built = await build(dockerfile, join(scratch, 'rootfs'), {
      context: '.',
      ignored,
      // The official image's Node lives in /usr/local; this host's where its binary is.
      envOverrides: { npm_config_nodedir: dirname(dirname(process.execPath)) },
      network,
      cacheDir: defaultCacheDir(),
      log: () => undefined,
    });
    app = join(built.root, 'app');
    console.log(`Dockerfile stages: ${built.stages.map((s) => `${s.name} ${s.cached ? 'cached' : `${(s.ms / 1000).toFixed(1)} s`}`).join(', ')}${root ? '' : ' (not root: the registry-only network is a proxy the tools are told to use, not enforced)'}; not run here: ${built.skipped.map((c) => c.split(/\s+/)[0]).join(', ')}`);
  }, 300_000);

  afterAll(async () => {
    await network?.close();
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await Promise.all(children.map(exited));
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('fetched nothing but npm packages: no prebuilt binary, no headers, from anywhere else', () => {
    // Empty also when every stage came from the cache: then nothing was fetched at all.
    expect(network.refused).toEqual([]);
  });

  it('leaves out only base-image setup: the toolchain, wireguard-tools and the user', () => {
    expect(built.skipped).toHaveLength(2);
    expect(built.skipped[0]).toMatch(/^apt-get update && apt-get install -y --no-install-recommends python3 make g\+\+ && rm -rf \/var\/lib\/apt\/lists\/\*$/);
    expect(built.skipped[1]).toMatch(/apt-get install -y --no-install-recommends wireguard-tools .*useradd --system --uid 10001 .*install -d -o 10001 -g 10001 -m 0700 \/var\/lib\/storegw$/);
  });

  it('lays out /app as the npm package: the compiled CLI, the dashboard, the example configs, LICENSE, no sources, tests or source maps', () => {
    for (const f of [pkg.bin.storegw, 'package.json', 'LICENSE', 'src/fleet/dashboard/public/index.html', 'edge-config/examples/one-uplink.yaml', 'edge-config/storegw.schema.json', 'node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'node_modules/sockopt/build/Release/sockopt.node']) {
      expect(existsSync(join(app, f)), f).toBe(true);
    }
    expect(existsSync(join(app, 'src/cli/main.ts'))).toBe(false);
    expect(existsSync(join(app, 'dist/test'))).toBe(false);
    const compiled = readdirSync(join(app, 'dist'), { recursive: true }) as string[];
    expect(compiled.filter((f) => /\.test\.js$/.test(f))).toEqual([]);
    // The published build (.tsconfig.build.json) maps nothing: no .map, and no comment pointing at one.
    expect(compiled.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(compiled.filter((f) => f.endsWith('.js') && readFileSync(join(app, 'dist', f), 'utf8').includes('sourceMappingURL'))).toEqual([]);
  });

  it('holds the production dependencies, all of them, and no dev dependency', () => {
    const entries = Object.entries(lock.packages).filter(([k]) => k.startsWith('node_modules/'));
    const dev = entries.filter(([, v]) => v.dev).map(([k]) => k);
    const prod = entries.filter(([, v]) => !v.dev && !v.optional).map(([k]) => k);
    expect(dev).toEqual(expect.arrayContaining(['node_modules/typescript', 'node_modules/vitest']));
    for (const k of dev) expect(existsSync(join(app, k)), k).toBe(false);
    for (const k of prod) expect(existsSync(join(app, k, 'package.json')), k).toBe(true);
  });

  it(`runs as uid ${uid}: storegw help, config validate on the shipped examples, better-sqlite3 in the volume`, () => {
    if (!root) console.warn('not root: the image user is simulated by the current user');
    const volume = mkdtempSync(join(scratch, 'volume-'));
    if (root) chownSync(volume, uid, gid);
    const help = runOnce(app, [join(app, exec('ENTRYPOINT')[1]!.replace(/^\/app\//, '')), 'help']);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^ {2}gateway --config FILE/m);
    expect(help.stdout).toMatch(/^ {2}hub --config FILE/m);
    const validate = runOnce(app, [pkg.bin.storegw, 'config', 'validate', 'edge-config/examples/fiber-lte.yaml']);
    expect(validate.status, validate.stdout + validate.stderr).toBe(0);
    const db = runOnce(app, ['--input-type=module', '-e', `import Database from 'better-sqlite3'; const db = new Database(${JSON.stringify(join(volume, 'x.db'))}); console.log(db.prepare('select sqlite_version() v').get().v, process.getuid());`]);
    expect(db.status, db.stderr).toBe(0);
    expect(db.stdout.trim()).toMatch(new RegExp(`^3\\.\\d+\\.\\d+ ${root ? uid : process.getuid!()}$`));
  });

  it('runs the gateway, whose HEALTHCHECK passes while it is up and fails when nothing answers; SIGTERM stops it with 0', async () => {
    const volume = mkdtempSync(join(scratch, 'gateway-'));
    const config = join(volume, 'gateway.yaml');
    writeFileSync(
      config,
      `version: 1
store: { id: store-image-test, region: test }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
paths:
  - { name: fiber, baseUrl: "http://127.0.0.1:9" }
routes:
  - { name: everything, match: { path: "/*" }, class: normal, mode: passthrough }
buffer: { path: ${volume}/journal.db }
cache: { path: ${volume}/cache.db }
`,
      { mode: 0o600 },
    );
    if (root) for (const f of [volume, config]) chownSync(f, uid, gid);
    const { child, line } = await startUntil(app, [pkg.bin.storegw, 'gateway', '--config', config], 'gateway started', children);
    const admin = line.admin as string;
    const check = (url: string) => runOnce(app, healthcheck.slice(1), { STOREGW_HEALTH_URL: url }).status;
    expect(check(`${admin}/healthz`)).toBe(0);
    expect(existsSync(join(volume, 'journal.db'))).toBe(true);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(check(`${admin}/healthz`)).toBe(1);
  });

  it('runs the hub from the same image: /healthz, /readyz and the dashboard', async () => {
    const dir = mkdtempSync(join(scratch, 'hub-'));
    const files: Record<string, string> = {
      'hub.yaml': `version: 1
listen: { host: 127.0.0.1, port: 0 }
store: { path: ${dir}/hub.db }
auth:
  gatewayTokensFile: ${dir}/gateway-tokens.yaml
  opsTokens: [{ tokenFile: ${dir}/ops.token, role: operator }]
`,
      'gateway-tokens.yaml': 'store-image-test: 0123456789abcdef0123456789abcdef\n',
      'ops.token': 'fedcba9876543210fedcba9876543210\n',
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
    if (root) for (const f of [dir, ...Object.keys(files).map((n) => join(dir, n))]) chownSync(f, uid, gid);
    const { child, line } = await startUntil(app, [pkg.bin.storegw, 'hub', '--config', join(dir, 'hub.yaml')], 'hub started', children);
    const url = line.url as string;
    for (const path of ['/healthz', '/readyz']) expect((await fetch(url + path)).status, path).toBe(200);
    const page = await fetch(url + '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });
});
