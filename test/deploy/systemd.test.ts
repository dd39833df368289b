// deploy/systemd: the units parse, carry the hardening they are meant to,
// and systemd itself accepts them (systemd-analyze verify, and its offline
// exposure score) where systemd's tools are installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../support/gateway-process.js';

const DIR = 'deploy/systemd';
const GATEWAY = join(DIR, 'storegw-gateway.service');
const HUB = join(DIR, 'storegw-hub.service');
const WIREGUARD_DROPIN = join(DIR, 'storegw-gateway-wireguard.conf');
const SYSUSERS = join(DIR, 'storegw.sysusers.conf');

type Unit = Map<string, Map<string, string[]>>;

/** systemd's unit syntax, as far as these files use it: sections, repeated keys, comments, backslash continuations. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const head = /^\[([A-Za-z]+)\]$/.exec(line);
    if (head) {
      section = unit.get(head[1]!) ?? new Map();
      unit.set(head[1]!, section);
      return;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !section) throw new Error(`line ${i + 1}: not a key=value in a section: ${line}`);
    section.set(kv[1]!, [...(section.get(kv[1]!) ?? []), kv[2]!.trim()]);
  });
  return unit;
}

/** The value in effect: the last assignment (an empty one resets a list). */
const last = (u: Unit, section: string, key: string) => u.get(section)?.get(key)?.at(-1);
const all = (u: Unit, section: string, key: string) => u.get(section)?.get(key) ?? [];

const gateway = parseUnit(readFileSync(GATEWAY, 'utf8'));
const hub = parseUnit(readFileSync(HUB, 'utf8'));
const dropin = parseUnit(readFileSync(WIREGUARD_DROPIN, 'utf8'));

const HARDENING: Record<string, string> = {
  NoNewPrivileges: 'yes',
  ProtectSystem: 'strict',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  PrivateDevices: 'yes',
  ProtectKernelTunables: 'yes',
  ProtectKernelModules: 'yes',
  ProtectControlGroups: 'yes',
  RestrictNamespaces: 'yes',
  RestrictSUIDSGID: 'yes',
  LockPersonality: 'yes',
  SystemCallArchitectures: 'native',
  SystemCallErrorNumber: 'EPERM',
  CapabilityBoundingSet: '',
  AmbientCapabilities: '',
  Restart: 'on-failure',
  ExecReload: '/bin/kill -HUP $MAINPID',
  User: 'storegw',
  Group: 'storegw',
  UMask: '0077',
};

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

describe.each([
  ['storegw-gateway.service', gateway, 'gateway', '/etc/storegw/gateway.yaml'],
  ['storegw-hub.service', hub, 'hub', '/etc/storegw/hub.yaml'],
])('%s', (_name, unit, command, config) => {
  it('is hardened: no capabilities, strict file system, @system-service syscalls, no new privileges', () => {
    for (const [key, value] of Object.entries(HARDENING)) expect(last(unit, 'Service', key), key).toBe(value);
    expect(all(unit, 'Service', 'SystemCallFilter')).toEqual(['@system-service', '~@privileged']);
    expect(last(unit, 'Service', 'RestrictAddressFamilies')).toBe('AF_INET AF_INET6 AF_UNIX');
    // V8's JIT writes code at run time: MemoryDenyWriteExecute would kill node at its first compile.
    expect(last(unit, 'Service', 'MemoryDenyWriteExecute')).toBeUndefined();
    expect(last(unit, 'Service', 'StateDirectoryMode')).toBe('0700');
    expect(last(unit, 'Service', 'ConfigurationDirectory')).toBe('storegw');
  });

  it(`runs storegw ${command} from /opt/storegw with its config in /etc/storegw`, () => {
    const exec = last(unit, 'Service', 'ExecStart')!.split(/\s+/);
    expect(exec).toEqual(['/usr/bin/node', '/opt/storegw/dist/src/cli/main.js', command, '--config', config]);
    // The package's own bin, under the install folder.
    expect(exec[1]).toBe(`/opt/storegw/${(JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { storegw: string } }).bin.storegw}`);
    expect(last(unit, 'Unit', 'StartLimitIntervalSec')).toBe('0');
    expect(last(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
  });
});

describe('the gateway unit', () => {
  it('runs node with the flags the gateway is tested with (the soak holds its RSS budget with them)', () => {
    const env = all(gateway, 'Service', 'Environment').find((e) => e.startsWith('NODE_OPTIONS='));
    expect(env).toBe(`NODE_OPTIONS=${GATEWAY_NODE_FLAGS.join(' ')}`);
  });

  it('keeps its journal and cache where the example configs put them', () => {
    const state = `/var/lib/${last(gateway, 'Service', 'StateDirectory')}/`;
    for (const f of ['one-uplink.yaml', 'fiber-lte.yaml']) {
      const c = parseYaml(readFileSync(join('edge-config/examples', f), 'utf8')) as { buffer: { path: string }; cache?: { path: string } };
      expect(c.buffer.path.startsWith(state), f).toBe(true);
      if (c.cache) expect(c.cache.path.startsWith(state), f).toBe(true);
    }
  });

  it("can rewrite its own config (fleet config.apply) but no other file in /etc", () => {
    expect(last(gateway, 'Service', 'ReadWritePaths')).toBe('/etc/storegw');
    // Sticky: the service may replace the files it owns (gateway.yaml), never one root owns there.
    expect(last(gateway, 'Service', 'ConfigurationDirectoryMode')).toBe('1770');
  });

  it('gets CAP_NET_ADMIN and netlink only from the WireGuard drop-in, and nothing else from it', () => {
    expect([...dropin.keys()]).toEqual(['Service']);
    expect(Object.fromEntries([...dropin.get('Service')!].map(([k, v]) => [k, v.join(' ')]))).toEqual({
      CapabilityBoundingSet: 'CAP_NET_ADMIN',
      AmbientCapabilities: 'CAP_NET_ADMIN',
      RestrictAddressFamilies: 'AF_NETLINK',
    });
    // No PrivateUsers: a capability inside a private user namespace is worth nothing on the host's interfaces.
    expect(last(gateway, 'Service', 'PrivateUsers')).toBeUndefined();
  });
});

describe('the hub unit', () => {
  it('may hold 10k+ gateway sockets, and writes only its state directory', () => {
    expect(Number(last(hub, 'Service', 'LimitNOFILE'))).toBeGreaterThanOrEqual(20_000);
    expect(last(hub, 'Service', 'ReadWritePaths')).toBeUndefined();
    expect(last(hub, 'Service', 'StateDirectory')).toBe('storegw-hub');
    expect(last(hub, 'Service', 'PrivateUsers')).toBe('yes');
  });
});

describe('systemd accepts them', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'storegw-systemd-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  // The layout systemd loads: units, and the drop-in where docs/operations.md installs it.
  const units = join(tmp, 'units');
  mkdirSync(join(units, 'storegw-gateway.service.d'), { recursive: true });
  cpSync(GATEWAY, join(units, 'storegw-gateway.service'));
  cpSync(HUB, join(units, 'storegw-hub.service'));
  const env = { ...process.env, SYSTEMD_UNIT_PATH: `${units}:` };
  const analyze = (args: string[]) => spawnSync('systemd-analyze', args, { cwd: units, env, encoding: 'utf8' });
  const hasAnalyze = which('systemd-analyze');
  if (!hasAnalyze) console.warn('skipped systemd-analyze checks: systemd-analyze is not installed (Debian: systemd)');

  it.skipIf(!hasAnalyze)('systemd-analyze verify: no unknown keys, no bad settings (units alone, then with the drop-in)', () => {
    for (const withDropin of [false, true]) {
      if (withDropin) cpSync(WIREGUARD_DROPIN, join(units, 'storegw-gateway.service.d', 'wireguard.conf'));
      const r = analyze(['verify', '--man=no', 'storegw-gateway.service', 'storegw-hub.service']);
      // verify exits 0 on an unknown key, only warning: the warnings are the point.
      expect(r.stderr.trim(), `drop-in: ${withDropin}`).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it.skipIf(!hasAnalyze)('systemd-analyze security (offline) rates both "OK" or better, the drop-in included', () => {
    const score = (unit: string) => {
      const r = analyze(['security', '--offline=true', unit]);
      const m = /Overall exposure level for \S+: ([0-9.]+) (\S+)/.exec(r.stdout);
      expect(m, r.stdout + r.stderr).not.toBeNull();
      return Number(m![1]);
    };
    expect(score('storegw-hub.service')).toBeLessThanOrEqual(1.5);
    expect(score('storegw-gateway.service')).toBeLessThanOrEqual(2.0);
  });

  it.skipIf(!which('systemd-sysusers'))('systemd-sysusers creates the storegw user from storegw.sysusers.conf, without a login', () => {
    const root = join(tmp, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    execFileSync('systemd-sysusers', [`--root=${root}`, resolve(SYSUSERS)], { stdio: 'pipe' });
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(/^storegw:x:(\d+):\1:[^:]*:\/nonexistent:\/usr\/sbin\/nologin$/m);
    expect(readFileSync(join(root, 'etc/group'), 'utf8')).toMatch(/^storegw:x:\d+:$/m);
  });
});
