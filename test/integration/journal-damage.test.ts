// The journal's bad days: a real full disk, and a damaged or foreign file at start.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { gatewayYaml, startTestGateway, tempDir } from '../support/gateway.js';
import { posOrderBody, posOrdersRoute } from '../support/pos.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const ROUTES = `${posOrdersRoute(500)}
  - name: everything-else
    match: { path: /* }
    class: normal`;

const isRoot = process.getuid?.() === 0;

describe('journal on a full disk', () => {
  let erp: ErpSimulator;
  const dir = tempDir('storegw-diskfull-');
  const mountPoint = join(dir, 'small');

  beforeAll(async () => {
    erp = await startErpSimulator();
    if (!isRoot) return;
    mkdirSync(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mountPoint]);
  });
  afterAll(async () => {
    await erp?.close();
    if (isRoot) spawnSync('umount', [mountPoint]);
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!isRoot)('answers 507 when the disk is full, acknowledges only what is stored, and keeps serving (needs root: mounts a 512 KiB tmpfs)', async () => {
    erp.setBehavior({ mode: 'fail', status: 503, pathPrefix: '/web/dataset' });
    const t = await startTestGateway(gatewayYaml(erp.url, ROUTES, { buffer: `{ path: ${join(mountPoint, 'journal.db')}, maxBytes: 1GiB }` }));
    try {
      const acked: string[] = [];
      let full = 0;
      for (let i = 0; i < 400 && full < 3; i++) {
        const res = await request(`${t.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: posOrderBody(`disk-${i}`).replace('"lines"', `"note":"${'x'.repeat(4000)}","lines"`),
        });
        const body = (await res.body.json()) as { error?: string };
        if (res.statusCode === 202) acked.push(`disk-${i}`);
        else if (res.statusCode === 507) {
          expect(body.error).toBe('buffer_full');
          full++;
        } else throw new Error(`unexpected ${res.statusCode}`);
      }
      expect(full).toBeGreaterThan(0);
      expect(acked.length).toBeGreaterThan(0);
      expect(t.logs()).toContain('disk full');
      // Every acknowledged order is in the journal.
      const status = (await (await request(`${t.gw.adminUrl}/v1/status`)).body.json()) as { queue: { pending: number } };
      expect(status.queue.pending).toBe(acked.length);
      // Live traffic still flows.
      const ping = await request(`${t.gw.url}/ping`);
      expect(ping.statusCode).toBe(200);
      await ping.body.dump();
    } finally {
      await t.close();
    }
  });
});

describe('journal files found at start', () => {
  function startCli(config: string) {
    return spawnSync(process.execPath, [CLI, 'gateway', '--config', config], { encoding: 'utf8', timeout: 15_000 });
  }

  it('refuses to start on a foreign file, names it, and leaves it as it was', () => {
    const dir = tempDir();
    const journal = join(dir, 'journal.db');
    writeFileSync(journal, 'inventory 2026-11\nshelf A: 42 boxes\n');
    writeFileSync(join(dir, 'gateway.yaml'), gatewayYaml('http://127.0.0.1:9', ROUTES));
    const r = startCli(join(dir, 'gateway.yaml'));
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toContain(`${journal}: is not a database`);
    expect(readFileSync(journal, 'utf8')).toBe('inventory 2026-11\nshelf A: 42 boxes\n');
    rmSync(dir, { recursive: true, force: true });
  });
});
