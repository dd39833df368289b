// The real `storegw gateway` process: graceful shutdown on SIGTERM, reload on
// SIGHUP (atomic, and refused when the new file is invalid), and the CLI's
// exit codes.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayYaml, tempDir } from '../support/gateway.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

interface Child {
  proc: ChildProcess;
  output(): string;
  /** Resolves with the first log line (parsed) that satisfies `test`. */
  waitForLog(test: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function run(args: string[]): Child {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: { test: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  const seen: Record<string, unknown>[] = [];
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    const lines = out.split('\n');
    for (const line of lines.slice(seen.length, -1)) {
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { msg: line };
      }
      seen.push(parsed);
      for (const w of [...waiters]) if (w.test(parsed)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(parsed));
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return {
    proc,
    output: () => out,
    waitForLog(test, timeoutMs = 15_000) {
      const hit = seen.find(test);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`log line not seen; output so far:\n${out}`)), timeoutMs);
        waiters.push({ test, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
  };
}

async function exitOf(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null) return proc.exitCode;
  const [code] = (await once(proc, 'exit')) as [number | null];
  return code;
}

const ROUTES = `  - name: slow
    match: { path: /slow }
    class: normal
    timeoutMs: 5000
  - name: web
    match: { path: /web/* }
    class: normal`;

describe('gateway process', () => {
  let erp: TestUpstream;
  let dir: string;

  beforeAll(async () => {
    erp = await startUpstream((req, res) => {
      const delay = req.url === '/slow' ? 800 : 0;
      setTimeout(() => res.end(JSON.stringify({ url: req.url })), delay);
    });
    dir = tempDir();
  });
  afterAll(async () => {
    await erp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startChild(yaml: string) {
    const config = join(dir, `gw-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(config, yaml);
    const child = run(['gateway', '--config', config]);
    const started = await child.waitForLog((l) => l.msg === 'gateway started');
    return { child, config, url: started.lan as string, admin: started.admin as string };
  }

  it('finishes in-flight requests on SIGTERM, then exits 0', async () => {
    const { child, url } = await startChild(gatewayYaml(erp.url, ROUTES));
    const inflight = request(`${url}/slow`);
    await new Promise((r) => setTimeout(r, 200));
    child.proc.kill('SIGTERM');
    const res = await inflight;
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ url: '/slow' });
    expect(await exitOf(child.proc)).toBe(0);
    expect(child.output()).toContain('gateway stopped');
  });

  it('reloads on SIGHUP: new routes apply, a bad file is refused and the running config kept', async () => {
    const { child, config, url, admin } = await startChild(gatewayYaml(erp.url, ROUTES));
    try {
      const versionOf = async () => ((await (await request(`${admin}/v1/status`)).body.json()) as { configVersion: string }).configVersion;
      const v1 = await versionOf();
      expect((await request(`${url}/reports/x`)).statusCode).toBe(404);

      writeFileSync(config, gatewayYaml(erp.url, ROUTES + '\n  - name: reports\n    match: { path: /reports/* }\n    class: bulk'));
      child.proc.kill('SIGHUP');
      await child.waitForLog((l) => l.msg === 'configuration reloaded');
      const res = await request(`${url}/reports/x`);
      expect(res.statusCode).toBe(200);
      await res.body.dump();
      const v2 = await versionOf();
      expect(v2).not.toBe(v1);

      writeFileSync(config, 'version: 1\nstore: { id: broken }\n');
      child.proc.kill('SIGHUP');
      const refused = await child.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('configuration reload refused'));
      expect(String((refused.err as { message?: unknown } | undefined)?.message)).toContain('store.region: is required');
      const still = await request(`${url}/reports/x`);
      expect(still.statusCode).toBe(200);
      await still.body.dump();
      expect(await versionOf()).toBe(v2);
    } finally {
      child.proc.kill('SIGTERM');
      await exitOf(child.proc);
    }
  });

  it('storegw status and storegw queue read a running gateway', async () => {
    const routes = `${ROUTES}
  - name: orders
    match: { method: POST, path: /orders }
    class: critical
    mode: buffer
    idempotencyKey: { generate: true }
    dedupe: key
    timeoutMs: 300`;
    // An ERP that is not there: the order is journaled and stays pending.
    const { child, url, admin } = await startChild(gatewayYaml('http://127.0.0.1:9', routes));
    try {
      const order = await request(`${url}/orders`, { method: 'POST', body: '{"sku":"A-1"}', headers: { 'content-type': 'application/json' } });
      expect(order.statusCode).toBe(202);
      const { receipt } = (await order.body.json()) as { receipt: string };

      const status = run(['status', '--admin', admin]);
      expect(await exitOf(status.proc)).toBe(0);
      expect(status.output()).toMatch(/store store-test \(test\)/);
      expect(status.output()).toContain('queue: 1 pending, 0 dead');

      const ls = run(['queue', 'ls', '--admin', admin]);
      expect(await exitOf(ls.proc)).toBe(0);
      expect(ls.output()).toContain(receipt);

      const discard = run(['queue', 'discard', receipt, '--admin', admin]);
      expect(await exitOf(discard.proc)).toBe(1);
      expect(discard.output()).toContain('only dead letters can be retried or discarded');

      const settle = run(['queue', 'settle', receipt, '--as', 'delivered', '--by', 'ops:alice', '--admin', admin]);
      expect(await exitOf(settle.proc)).toBe(1);
      expect(settle.output()).toContain('only entries whose outcome is unknown can be settled');
      const nobody = run(['queue', 'settle', receipt, '--as', 'delivered', '--admin', admin]);
      expect(await exitOf(nobody.proc)).toBe(2);
      expect(nobody.output()).toContain('--by NAME');

      const nowhere = run(['status', '--admin', 'http://127.0.0.1:9']);
      expect(await exitOf(nowhere.proc)).toBe(1);
      expect(nowhere.output()).toContain('cannot reach the gateway admin API');
    } finally {
      child.proc.kill('SIGTERM');
      await exitOf(child.proc);
    }
  });

  it('refuses to start, exit 1, when a file the config names is missing', async () => {
    const config = join(dir, 'missing-tokens.yaml');
    writeFileSync(config, gatewayYaml(erp.url, ROUTES, { gateway: '  devices: { tokensFile: no-such-devices.yaml }' }));
    const child = run(['gateway', '--config', config]);
    expect(await exitOf(child.proc)).toBe(1);
    expect(child.output()).toContain(`${join(dir, 'no-such-devices.yaml')}: ENOENT`);
  });

  it('refuses to start on an invalid config with exit 1 and FILE:path: message', async () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, gatewayYaml(erp.url, ROUTES).replace('class: normal', 'class: urgent'));
    const child = run(['gateway', '--config', config]);
    expect(await exitOf(child.proc)).toBe(1);
    expect(child.output()).toContain(`${config}:routes[0].class: must be one of: critical, interactive, normal, bulk`);
  });
});

describe('storegw CLI', () => {
  async function cli(args: string[]) {
    const child = run(args);
    const code = await exitOf(child.proc);
    return { code, out: child.output() };
  }

  it('config validate: 0 for a valid file', async () => {
    const example = fileURLToPath(new URL('../../edge-config/examples/fiber-lte.yaml', import.meta.url));
    const r = await cli(['config', 'validate', example]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('valid (store store-0042');
  });

  it('config validate: 1 with every problem for an invalid file', async () => {
    const dir = tempDir();
    const file = join(dir, 'x.yaml');
    writeFileSync(file, 'version: 1\nstore: { id: s, region: r, colour: red }\n');
    const r = await cli(['config', 'validate', file]);
    rmSync(dir, { recursive: true });
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${file}:store.colour: is not a known key`);
    expect(r.out).toContain(`${file}:gateway: is required`);
  });

  it('config schema prints the JSON Schema', async () => {
    const r = await cli(['config', 'schema']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ title: 'storegw gateway configuration', required: expect.arrayContaining(['version', 'store', 'paths', 'routes']) });
  });

  it('exits 2 on usage errors', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['gateway'])).code).toBe(2);
    expect((await cli(['gateway', '--bogus'])).code).toBe(2);
  });
});
