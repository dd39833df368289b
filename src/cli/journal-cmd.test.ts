// storegw journal import --from-backup: the gateway's configuration says which
// routes' ERP does not dedupe, and their pending entries come in unknown.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JournalStore, type NewEntry } from '../../sync/journal-store.js';
import { runCli } from './run.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'storegw-journal-cmd-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = `version: 1
store: { id: store-0042, region: eu-west }
gateway: { listen: { port: 8080 }, admin: { port: 9080 } }
paths: [ { name: fiber, baseUrl: "http://10.60.0.1" } ]
routes:
  - name: pos-orders
    match: { method: POST, jsonrpc: { model: pos.order, method: sync_from_ui } }
    class: critical
    mode: buffer
    dedupe: natural
    idempotencyKey: { jsonPath: "params.args[0][0].uuid" }
  - name: picking-validate
    match: { method: POST, jsonrpc: { model: stock.picking, method: button_validate } }
    class: interactive
    mode: buffer
    dedupe: none
    idempotencyKey: { header: Idempotency-Key }
`;

const entry = (receipt: string, route: string): NewEntry => ({
  receipt,
  idemKey: `key-${receipt}`,
  route,
  cls: 'critical',
  priority: 0,
  orderingKey: null,
  method: 'POST',
  target: '/web/dataset/call_kw',
  headers: {},
  body: Buffer.from('{}'),
});

async function storegw(...args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, (s) => (out += s + '\n'), (s) => (err += s + '\n'));
  return { code, out, err };
}

describe('storegw journal import --from-backup', () => {
  it('holds pending entries of routes whose ERP does not dedupe, and of routes the configuration no longer has', async () => {
    const backup = join(dir, 'backup.db');
    const s = JournalStore.open(backup, 1e9);
    s.appendBatch([entry('order', 'pos-orders'), entry('picking', 'picking-validate'), entry('gone', 'old-route')]);
    s.close();
    writeFileSync(join(dir, 'gateway.yaml'), CONFIG);
    expect((await storegw('journal', 'export', backup, '--out', join(dir, 'x.jsonl'))).code).toBe(0);
    const r = await storegw('journal', 'import', join(dir, 'x.jsonl'), '--into', join(dir, 'new.db'), '--from-backup', '--config', join(dir, 'gateway.yaml'), '--json');
    expect(r.err).toBe('');
    expect(JSON.parse(r.out).added).toEqual({ pending: 1, unknown: 2, dead: 0 });
    const after = JournalStore.open(join(dir, 'new.db'), 1e9);
    expect(after.list('pending', 10).map((e) => e.receipt)).toEqual(['order']);
    expect(after.list('unknown', 10).map((e) => e.receipt)).toEqual(['picking', 'gone']);
    after.close();
  });
});
