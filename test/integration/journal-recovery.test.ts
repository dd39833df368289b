// A store's mini-PC dies with unsent orders in its journal (issue #19): a real
// gateway journals POS orders while its ERP cannot be reached, is killed with
// SIGKILL, and its journal is carried with the real `storegw journal` command
// (verify, export, import) to a fresh journal, where a second gateway that can
// reach the ERP delivers every order exactly once. Importing the same export
// again adds nothing; a write whose outcome is unknown stays unknown. The scheduled backup: the copy appears, is a valid
// journal, and its age is in status and the metrics.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { gatewayYaml, tempDir } from '../support/gateway.js';
import { freePort, GatewayProcess, runStoregw } from '../support/gateway-process.js';
import { eventually, posOrderBody, posOrdersRoute } from '../support/pos.js';

const ORDERS = 25;
const FAST_REPLAY = 'replay: { ratePerSec: 500, concurrency: 4, backoff: { baseMs: 20, maxMs: 200 } }';

const storegw = (...args: string[]) => runStoregw(args);

function storeDir(root: string, name: string, upstream: string, buffer = '{ path: ./journal.db }'): string {
  const dir = join(root, name);
  mkdirSync(dir);
  // A deadline a loaded test machine keeps: a replay that times out is sent again (harmless, but noise).
  writeFileSync(join(dir, 'gateway.yaml'), gatewayYaml(upstream, posOrdersRoute(5000), { buffer, extra: FAST_REPLAY }));
  return dir;
}

/** Picking validation: Odoo does not dedupe it, and no read-back is configured, so only a person settles an unknown one. */
const PICKING_ROUTE = `  - name: picking-validate
    match: { method: POST, jsonrpc: { model: stock.picking, method: button_validate } }
    class: interactive
    mode: buffer
    timeoutMs: 300
    idempotencyKey: { header: Idempotency-Key }
    dedupe: none`;

const root = tempDir('storegw-journal-recovery-');
let erp: ErpSimulator | undefined;
const gateways: GatewayProcess[] = [];
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await erp?.close();
  rmSync(root, { recursive: true, force: true });
});

async function start(dir: string): Promise<GatewayProcess> {
  const gw = await GatewayProcess.start({ config: join(dir, 'gateway.yaml'), cwd: dir });
  gateways.push(gw);
  return gw;
}

describe('a dead mini-PC: its journal carried to a new one', () => {
  it('exported from a killed gateway and imported on a fresh one, every pending order is delivered exactly once', { timeout: 120_000 }, async () => {
    // The old mini-PC: its ERP address answers nothing, as when the WAN is down.
    const old = storeDir(root, 'old', `http://127.0.0.1:${await freePort()}`);
    const a = await start(old);
    const uuids = Array.from({ length: ORDERS }, (_, i) => `order-${i}-${Date.now()}`);
    for (const uuid of uuids) {
      const res = await request(`${a.url}/web/dataset/call_kw/pos.order/sync_from_ui`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: posOrderBody(uuid) });
      await res.body.dump();
      expect(res.statusCode, uuid).toBe(202);
    }
    expect((await a.status()).queue).toMatchObject({ pending: ORDERS, dead: 0, unknown: 0 });

    // While it runs, its journal file is refused (the gateway holds it), and exported online.
    const held = await storegw('journal', 'export', join(old, 'journal.db'), '--out', join(root, 'too-soon.jsonl'));
    expect(held.code).toBe(1);
    expect(held.err).toContain('is open in a running gateway (SQLite lock held): stop the gateway first, or export it online with --admin URL');
    const online = await storegw('journal', 'export', '--admin', a.adminUrl, '--out', join(root, 'online.jsonl'));
    expect(online.err).toBe('');
    expect(online.out).toMatch(new RegExp(`^exported ${ORDERS} pending, 0 unknown, 0 dead to .*online\\.jsonl \\(sha256 [0-9a-f]{64}\\)`));

    await a.kill9();

    const verified = await storegw('journal', 'verify', join(old, 'journal.db'));
    expect(verified.code, verified.err).toBe(0);
    expect(verified.out).toContain('integrity: ok');
    expect(verified.out).toContain(`entries: ${ORDERS} pending, 0 unknown, 0 dead, 0 delivered`);

    const exportFile = join(root, 'store-0042.jsonl');
    const exported = await storegw('journal', 'export', join(old, 'journal.db'), '--out', exportFile, '--json');
    expect(exported.code, exported.err).toBe(0);
    expect(JSON.parse(exported.out)).toMatchObject({ entries: ORDERS, states: { pending: ORDERS, unknown: 0, dead: 0 } });
    expect(statSync(exportFile).mode & 0o777).toBe(0o600);
    const checked = await storegw('journal', 'verify', exportFile);
    expect(checked.code, checked.err).toBe(0);
    expect(checked.out).toContain(`entries: ${ORDERS} pending, 0 unknown, 0 dead`);

    // The replacement mini-PC: a fresh journal, and an ERP that answers.
    erp = await startErpSimulator();
    const fresh = storeDir(root, 'new', erp.url);
    const imported = await storegw('journal', 'import', exportFile, '--into', join(fresh, 'journal.db'));
    expect(imported.code, imported.err).toBe(0);
    expect(imported.out).toContain(`${ORDERS} pending, 0 unknown, 0 dead added`);
    // As root (CI), the new journal is root's: the gateway's own user could not open it.
    if (process.getuid?.() === 0) expect(imported.out).toContain("belongs to root now; chown it to the gateway's user (storegw) before starting the gateway");
    const again = await storegw('journal', 'import', exportFile, '--into', join(fresh, 'journal.db'), '--json');
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ added: { pending: 0, unknown: 0, dead: 0 } });
    expect(JSON.parse(again.out).skipped).toHaveLength(ORDERS);

    const b = await start(fresh);
    expect(await b.drained(60_000)).toMatchObject({ pending: 0, dead: 0, unknown: 0, delivered: ORDERS });
    await b.stop();

    const committed = erp.commits().map((c) => c.uuid);
    expect([...committed].sort()).toEqual([...uuids].sort());
    // In the order the tills sent them: the export kept the journal's order.
    expect(committed).toEqual(uuids);
    // Each order is committed once (above). A replay attempt that timed out on a loaded machine is
    // sent again with its key, and Odoo finds the order by its uuid: counted here, not a second order.
    console.log(`journal recovery: ${ORDERS} orders exported and imported, ${committed.length} committed, ${erp.duplicates()} re-sent attempts deduplicated by uuid`);

    // Once delivered, the same export still adds nothing.
    const late = await storegw('journal', 'import', exportFile, '--into', join(fresh, 'journal.db'), '--json');
    expect(JSON.parse(late.out)).toMatchObject({ added: { pending: 0, unknown: 0, dead: 0 } });
    expect(JSON.parse(late.out).skipped.every((s: { state: string }) => s.state === 'delivered')).toBe(true);
  });

  it('a write that may have reached an ERP that does not dedupe stays unknown across the move: never sent again blindly', { timeout: 60_000 }, async () => {
    // The old box's ERP applies the picking validation and the connection breaks before its answer.
    const oldErp = await startErpSimulator();
    try {
      oldErp.setBehavior({ mode: 'drop-after-commit', pathPrefix: '/web/dataset/call_kw/stock.picking' });
      const old = join(root, 'old-picking');
      mkdirSync(old);
      writeFileSync(join(old, 'gateway.yaml'), gatewayYaml(oldErp.url, PICKING_ROUTE, { extra: FAST_REPLAY }));
      const a = await start(old);
      const res = await request(`${a.url}/web/dataset/call_kw/stock.picking/button_validate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'validate-7' },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { model: 'stock.picking', method: 'button_validate', args: [[7]], kwargs: {} } }),
      });
      await res.body.dump();
      expect(res.statusCode).toBe(202);
      await eventually(async () => expect((await a.status()).queue).toMatchObject({ pending: 0, unknown: 1 }));
      await a.kill9();
    } finally {
      await oldErp.close();
    }
    const exportFile = join(root, 'picking.jsonl');
    const exported = await storegw('journal', 'export', join(root, 'old-picking', 'journal.db'), '--out', exportFile, '--json');
    expect(exported.code, exported.err).toBe(0);
    expect(JSON.parse(exported.out)).toMatchObject({ states: { pending: 0, unknown: 1, dead: 0 } });

    erp ??= await startErpSimulator();
    const fresh = join(root, 'new-picking');
    mkdirSync(fresh);
    writeFileSync(join(fresh, 'gateway.yaml'), gatewayYaml(erp.url, PICKING_ROUTE, { extra: FAST_REPLAY }));
    const imported = await storegw('journal', 'import', exportFile, '--into', join(fresh, 'journal.db'));
    expect(imported.out, imported.err).toContain('0 pending, 1 unknown, 0 dead added');
    const b = await start(fresh);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await b.status()).queue).toMatchObject({ pending: 0, unknown: 1 });
    expect(erp.commits().filter((c) => c.model === 'stock.picking')).toEqual([]);
  });

  it('backs up the running journal to a second path: a valid journal, 0600, its age in status and metrics', { timeout: 60_000 }, async () => {
    erp ??= await startErpSimulator();
    mkdirSync(join(root, 'usb'));
    const dir = storeDir(root, 'backed-up', erp.url, '{ path: ./journal.db, backup: { path: ../usb/journal-backup.db, everyMinutes: 60 } }');
    const gw = await start(dir);
    const res = await request(`${gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: posOrderBody('backed-up-1') });
    await res.body.dump();
    const backup = join(root, 'usb', 'journal-backup.db');
    // The first backup is taken at start.
    await eventually(async () => {
      const status = (await gw.status()) as unknown as { journalBackup: { path: string; lastAt: string | null; ageS: number; lastError: string | null } };
      expect(status.journalBackup).toMatchObject({ path: backup, lastError: null, everyMinutes: 60 });
      expect(status.journalBackup.lastAt).not.toBeNull();
      expect(status.journalBackup.ageS).toBeLessThan(30);
    }, 10_000, 100);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/^storegw_journal_backup_age_seconds \d+(\.\d+)?$/m);
    expect(metrics).toMatch(/^storegw_journal_backup_interval_seconds 3600$/m);
    expect(metrics).toMatch(/^storegw_journal_backup_failures_total 0$/m);
    // A copy of a running gateway's journal is not held by it: the tools read it.
    const verified = await storegw('journal', 'verify', backup);
    expect(verified.code, verified.err).toBe(0);
    expect(verified.out).toContain('integrity: ok');
    const status = await storegw('status', '--admin', gw.adminUrl);
    expect(status.out).toMatch(new RegExp(`journal backup: ${backup.replace(/[.]/g, '\\.')}, last \\d+s ago \\(every 60 min\\)`));
  });
});
