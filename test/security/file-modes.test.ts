// What each component promises about the modes of the files it creates,
// checked with stat after real runs, under the most permissive umask (000) as
// well as the usual one (022): the journal, its scheduled backup, the read cache and the fleet spool
// (SQLite files with their -wal and -shm companions) are 0600 and the folders
// the gateway creates for them 0700 (docs/architecture.md: journal "0600", cache "mode 600",
// spool "mode 600"); a configuration pushed by the hub is written, and the
// previous one kept, with the file's own mode; token files readable by others
// are warned about, never silently used (gateway: admin and fleet tokens; hub:
// gateway tokens file and ops tokens); the hub creates its database folder
// 0700.
import { chmodSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import { startHub } from '../../src/fleet/hub/server.js';
import { createLogger } from '../../src/log.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { gatewayYaml, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { eventually, posOrderBody, posOrdersRoute } from '../support/pos.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const mode = (f: string) => statSync(f).mode & 0o777;
const octal = (m: number) => m.toString(8).padStart(3, '0');

/** Every file and folder under `dir`, with its mode. */
function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out[relative(dir, p) + (e.isDirectory() ? '/' : '')] = octal(mode(p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

const ROUTES = `${posOrdersRoute(1000)}
  - name: images
    match: { method: GET, path: /web/image/** }
    class: bulk
    mode: cache
  - name: web
    match: { path: /web/** }
    class: normal`;

let erp: TestUpstream | undefined;
let t: TestGateway | undefined;
let hub: FakeHub | undefined;
let savedUmask: number | undefined;
afterEach(async () => {
  if (savedUmask !== undefined) process.umask(savedUmask);
  savedUmask = undefined;
  await t?.close();
  await hub?.stop();
  await erp?.close();
  t = undefined;
  hub = undefined;
  erp = undefined;
});

describe('file modes', () => {
  it.each([
    ['000', 0o000],
    ['022', 0o022],
  ])('journal, journal backup, cache and spool files are 0600 and their new folders 0700 (umask %s)', async (_label, umask) => {
    savedUmask = process.umask(umask);
    erp = await startUpstream((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end('{"jsonrpc":"2.0","id":1,"result":true}');
      });
    });
    t = await startTestGateway(
      gatewayYaml(erp.url, ROUTES, {
        // The scheduled backup's copy: taken at start.
        buffer: '{ path: ./journal.db, backup: { path: ./journal-backup.db, everyMinutes: 60 } }',
        // Nothing listens there: telemetry goes to the spool.
        extra: 'fleet: { hubUrl: "ws://127.0.0.1:9/v1/gateways/connect", tokenFile: fleet.token, telemetryIntervalMs: 100, reconnect: { baseMs: 50, maxMs: 200 }, spoolPath: ./spool/fleet-spool.db }',
      }).replace('cache: { path: ./cache.db }', 'cache: { path: ./cache/cache.db }'),
      { 'fleet.token': 'fleet-token-0123456789abcdef\n' },
    );
    const order = await request(`${t.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: posOrderBody('mode-order-1') });
    expect(order.statusCode).toBe(200);
    await order.body.dump();
    const image = await request(`${t.gw.url}/web/image/1`);
    expect(image.statusCode).toBe(200);
    await image.body.dump();
    // Spooled telemetry has been written.
    await eventually(() => expect(existsSync(join(t!.dir, 'spool', 'fleet-spool.db-wal'))).toBe(true), 5000);
    await eventually(() => expect(existsSync(join(t!.dir, 'journal-backup.db'))).toBe(true), 5000);

    const dir = t.dir;
    const check = (when: string) => {
      const all = modes(dir);
      const sqlite = Object.entries(all).filter(([f]) => /\.db(-wal|-shm)?$/.test(f));
      expect(sqlite.map(([f]) => f)).toEqual(expect.arrayContaining(['journal.db', 'journal-backup.db', 'cache/cache.db', 'spool/fleet-spool.db']));
      for (const [f, m] of sqlite) expect(`${when} ${f} ${m}`).toBe(`${when} ${f} 600`);
      expect({ cache: all['cache/'], spool: all['spool/'] }).toEqual({ cache: '700', spool: '700' });
    };
    check('running:');
    // Stopped, the files stay as they were left (the support's close() would delete the folder).
    const running = t;
    t = undefined;
    await running.gw.close();
    check('stopped:');
    rmSync(dir, { recursive: true, force: true });
  });

  it('a configuration pushed by the hub is written, and the previous one kept, with the file mode (0600)', async () => {
    erp = await startUpstream();
    hub = await startFakeHub({ token: 'fleet-token-0123456789abcdef' });
    const yaml = gatewayYaml(erp.url, '  - name: web\n    match: { path: /web/** }\n    class: normal', {
      extra: `fleet: { hubUrl: "${hub.url}", tokenFile: fleet.token, telemetryIntervalMs: 200, configGraceMs: 100, spoolPath: ./fleet-spool.db }`,
    });
    t = await startTestGateway(yaml, { 'fleet.token': 'fleet-token-0123456789abcdef\n' });
    chmodSync(t.configFile, 0o600);
    await hub.waitFor((m) => m.type === 'hello', { timeoutMs: 5000 });
    const result = await hub.command('config.apply', { yaml: `${yaml}\n# pushed\n`, graceMs: 100 }, { timeoutMs: 10_000 });
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(octal(mode(t.configFile))).toBe('600');
    expect(octal(mode(`${t.configFile}.previous`))).toBe('600');
    expect(readdirSync(t.dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('the gateway warns about admin and fleet token files others can read', async () => {
    erp = await startUpstream();
    t = await startTestGateway(
      gatewayYaml(erp.url, '  - name: web\n    match: { path: /web/** }\n    class: normal', {
        extra: 'fleet: { hubUrl: "ws://127.0.0.1:9/v1/gateways/connect", tokenFile: fleet.token, reconnect: { baseMs: 50, maxMs: 200 }, spoolPath: ./fleet-spool.db }',
      }).replace('admin: { host: 127.0.0.1, port: 0 }', 'admin: { host: 127.0.0.1, port: 0, tokenFile: admin.token }'),
      { 'admin.token': 'admin-token-0123456789abcdef\n', 'fleet.token': 'fleet-token-0123456789abcdef\n' },
    );
    // Written 0600 by the test support; make them readable by others and reload.
    chmodSync(join(t.dir, 'admin.token'), 0o644);
    chmodSync(join(t.dir, 'fleet.token'), 0o640);
    expect(t.gw.reload().ok).toBe(true);
    await eventually(() => {
      expect(t!.logs()).toMatch(/admin\.token is readable by group or others \(mode 644\); chmod 600 it/);
      expect(t!.logs()).toMatch(/fleet\.token is readable by group or others \(mode 640\); chmod 600 it/);
    }, 5000);
    expect(t.logs()).not.toContain('token-0123456789abcdef');
  });

  it('the hub warns about token files others can read, and creates its database folder 0700', async () => {
    const dir = tempDir('storegw-hub-modes-');
    writeFileSync(join(dir, 'gateways.yaml'), 'store-1: gw-token-0123456789abcdef\n', { mode: 0o644 });
    writeFileSync(join(dir, 'ops.token'), 'ops-token-0123456789abcdef\n', { mode: 0o604 });
    chmodSync(join(dir, 'gateways.yaml'), 0o644);
    chmodSync(join(dir, 'ops.token'), 0o604);
    writeFileSync(
      join(dir, 'hub.yaml'),
      'version: 1\nlisten: { host: 127.0.0.1, port: 0 }\nstore: { path: ./state/hub.db }\nauth: { gatewayTokensFile: gateways.yaml, opsTokens: [ { tokenFile: ops.token, role: operator } ] }\n',
    );
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    savedUmask = process.umask(0o022);
    const running = await startHub(loadHubConfig(join(dir, 'hub.yaml')), createLogger({ level: 'info', destination }));
    try {
      const log = lines.join('');
      expect(log).toMatch(/gateways\.yaml is readable by group or others \(mode 644\); chmod 600 it/);
      expect(log).toMatch(/ops\.token is readable by group or others \(mode 604\); chmod 600 it/);
      expect(log).not.toContain('token-0123456789abcdef');
      expect(octal(mode(join(dir, 'state')))).toBe('700');
      // The hub database itself promises no mode: it is created with the process umask, and the
      // systemd unit's UMask=0077 and StateDirectoryMode=0700 protect it (see the report).
      expect(existsSync(join(dir, 'state', 'hub.db'))).toBe(true);
    } finally {
      await running.close();
    }
  });
});
