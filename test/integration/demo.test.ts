// `storegw demo` end to end, as a newcomer runs it (a child process, no root):
// a shortened story, each step seen through the hub's API, and the tills —
// emulated Odoo POS clients — ending with every paid order at the ERP once.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

interface Listed {
  id: string;
  online: boolean;
  paths: { name: string; state: string }[];
  queue: { pending: number } | null;
}

it('plays the story — fiber cut, a store offline, restored — and loses no order', { timeout: 120_000 }, async () => {
  const child = spawn(process.execPath, [CLI, 'demo', '--step-seconds', '6', '--cycles', '1'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'error' } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = once(child, 'exit') as Promise<[number | null]>;

  try {
    // The banner names the dashboard and an operator token.
    const deadline = Date.now() + 30_000;
    while (!/operator token \S+/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const hub = /dashboard\s+(http:\/\/\S+)\//.exec(out)?.[1];
    const tokenMatch = /operator token (\S+)/.exec(out)?.[1];
    expect(hub, out).toBeDefined();
    expect(tokenMatch).toBeDefined();

    const seen = { fiberCutLteUp: false, offlineBacklog: false, drained: false, stores: 0 };
    let finished = false;
    void exited.then(() => (finished = true));
    while (!finished) {
      const res = await request(`${hub}/v1/gateways`, { headers: { authorization: `Bearer ${tokenMatch}` } }).catch(() => undefined);
      if (res?.statusCode === 200) {
        const list = (await res.body.json()) as Listed[];
        seen.stores = Math.max(seen.stores, list.filter((g) => g.online).length);
        const state = (id: string, path: string) => list.find((g) => g.id === id)?.paths.find((p) => p.name === path)?.state;
        const pending = (id: string) => list.find((g) => g.id === id)?.queue?.pending ?? 0;
        if (state('store-01', 'fiber') === 'down' && state('store-01', 'lte') === 'up') seen.fiberCutLteUp = true;
        if (state('store-02', 'fiber') === 'down' && pending('store-02') > 0) seen.offlineBacklog = true;
        // Back is "not DOWN": right after an outage the link is DEGRADED until the
        // jitter of the first probes through it has settled, longer than the story's step.
        const back = state('store-02', 'fiber') !== undefined && state('store-02', 'fiber') !== 'down';
        if (seen.offlineBacklog && back && pending('store-02') === 0) seen.drained = true;
      } else {
        await res?.body.dump();
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    const [code] = await exited;
    expect(seen).toEqual({ fiberCutLteUp: true, offlineBacklog: true, drained: true, stores: 3 });
    expect(out).toMatch(/▶ .*fiber is cut/);
    expect(out).toMatch(/▶ .*fully offline/);
    expect(out).toMatch(/drain \[/);
    // Paid at the tills === at the ERP, and nothing left held at a till (the line would say so).
    expect(out).toMatch(/^orders: (\d+) paid at the tills, \1 at the ERP, 0 lost, 0 duplicated, 0 reverted to unpaid$/m);
    expect(out).toMatch(/^scanner: \d+ lines sent, \d+ at the ERP, 0 duplicated, \d+ unknown held for an operator$/m);
    expect(code).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

it('refuses an Odoo version it cannot play, with a usage error', async () => {
  const child = spawn(process.execPath, [CLI, 'demo', '--odoo', '15'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(2);
  expect(err).toMatch(/--odoo must be one of 16, 17, 18, 19/);
});
