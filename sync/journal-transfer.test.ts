// The journal tools on real SQLite files: export from a stopped journal,
// check and import into another, verify, and the online backup copy.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { APPLICATION_ID, INTERRUPTED_ATTEMPT, MIGRATIONS } from './journal-schema.js';
import { JournalStore, type NewEntry } from './journal-store.js';
import { writeExport } from './journal-export.js';
import { journalReport, openStoppedJournal, owedEntries } from './journal-file.js';
import { checkExport, HELD_FROM_BACKUP, importExport } from './journal-import.js';
import { TestClock } from '../test/support/journal-clock.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'storegw-transfer-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const entry = (n: number, over: Partial<NewEntry> = {}): NewEntry => ({
  receipt: randomUUID(),
  idemKey: `order-${n}`,
  route: 'pos-orders',
  cls: 'critical',
  priority: 0,
  orderingKey: 'device:pos-1',
  method: 'POST',
  target: '/web/dataset/call_kw/pos.order/sync_from_ui',
  headers: { 'content-type': 'application/json', cookie: 'session_id=s3cret' },
  // Bytes that are not UTF-8 must come back as they were.
  body: Buffer.concat([Buffer.from(`{"uuid":"order-${n}"}`), Buffer.from([0xff, 0x00])]),
  ...over,
});

const ok = { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"result":true}') };

/** A stopped gateway's journal: 4 pending (one with an attempt begun, never settled), one delivered, one dead, one unknown. */
function killedJournal(file: string): NewEntry[] {
  const clock = new TestClock(1000, 'old-box');
  const s = JournalStore.open(file, 1e9, clock);
  const es = Array.from({ length: 7 }, (_, i) => entry(i));
  s.appendBatch(es);
  clock.at(2000);
  s.markDelivered(es[0]!.receipt, ok);
  s.markDead(es[1]!.receipt, 'refused by the ERP', true, { ...ok, status: 400 });
  s.write([{ op: 'unknown', receipt: es[2]!.receipt, reason: 'timeout', status: null, checkAfterMs: 3000 }]);
  s.write([{ op: 'begin', receipt: es[3]!.receipt }]);
  s.close();
  return es;
}

function exportOf(journal: string, out: string) {
  const db = openStoppedJournal(journal);
  try {
    return writeExport(owedEntries(db), journal, out, 3000);
  } finally {
    db.close();
  }
}

describe('journal export', () => {
  it('carries pending, unknown and dead entries with their bodies, in journal order; an interrupted attempt as unknown; 0600', async () => {
    const journal = join(dir, 'journal.db');
    const es = killedJournal(journal);
    const out = join(dir, 'export.jsonl');
    const summary = exportOf(journal, out);
    expect(summary).toMatchObject({ entries: 6, states: { pending: 3, unknown: 2, dead: 1 } });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ kind: 'header', format: 'storegw-journal-export', version: 1, exportedAt: 3000 });
    expect(lines.at(-1)).toEqual({ kind: 'end', entries: 6, sha256: summary.sha256 });
    const entries = lines.slice(1, -1);
    expect(entries.map((e) => e.idemKey)).toEqual(['order-1', 'order-2', 'order-3', 'order-4', 'order-5', 'order-6']);
    expect(entries.map((e) => e.state)).toEqual(['dead', 'unknown', 'unknown', 'pending', 'pending', 'pending']);
    expect(entries[2]).toMatchObject({ attempts: 1, lastError: INTERRUPTED_ATTEMPT });
    expect(Buffer.from(entries[3].body, 'base64')).toEqual(es[4]!.body);
    expect(await checkExport(out)).toMatchObject({ entries: 6, sha256: summary.sha256 });
  });

  it('refuses a journal a gateway has open, and leaves no file behind', () => {
    const journal = join(dir, 'journal.db');
    killedJournal(journal);
    const running = JournalStore.open(journal, 1e9);
    try {
      expect(() => openStoppedJournal(journal)).toThrow(/is open in a running gateway \(SQLite lock held\): stop the gateway first, or export it online with --admin URL/);
    } finally {
      running.close();
    }
    expect(() => openStoppedJournal(join(dir, 'none.db'))).toThrow(/no such file/);
    writeFileSync(join(dir, 'foreign.db'), 'not a database at all, just text that is long enough to be read as a header');
    expect(() => openStoppedJournal(join(dir, 'foreign.db'))).toThrow(/not a database/);
  });
});

describe('journal export of an older journal', () => {
  it('reads a journal of the first schema as it is, without migrating it', async () => {
    const journal = join(dir, 'v1.db');
    const old = new Database(journal);
    old.exec(MIGRATIONS[0]!);
    old.pragma(`application_id = ${APPLICATION_ID}`);
    old.pragma('user_version = 1');
    old
      .prepare(
        `INSERT INTO entries (receipt, idem_key, route, class, priority, method, target, headers, body, bytes, state, next_attempt_at, created_at, updated_at)
         VALUES ('rc-1', 'k-1', 'r', 'critical', 0, 'POST', '/x', '{}', x'7b7d', 10, 'pending', 0, 0, 0)`,
      )
      .run();
    old.close();
    const db = openStoppedJournal(journal);
    try {
      expect(journalReport(db, journal)).toMatchObject({ schemaVersion: 1, counts: { pending: 1 }, interrupted: 0 });
      expect([...owedEntries(db)]).toEqual([expect.objectContaining({ receipt: 'rc-1', idemKey: 'k-1', body: 'e30=', state: 'pending', settledBy: null })]);
    } finally {
      db.close();
    }
  });
});

describe('journal import', () => {
  it('into a fresh journal: keys, receipts, states and order kept; pending due at once; twice adds nothing', async () => {
    const source = join(dir, 'old.db');
    const es = killedJournal(source);
    const out = join(dir, 'export.jsonl');
    exportOf(source, out);
    const target = join(dir, 'new.db');
    const clock = new TestClock(50, 'new-box');
    const first = await importExport(out, target, { clock });
    expect(first).toMatchObject({ added: { pending: 3, unknown: 2, dead: 1 }, skipped: [] });
    expect(statSync(target).mode & 0o777).toBe(0o600);

    const s = JournalStore.open(target, 1e9, clock);
    // Ages go on from the last time the old journal recorded (2000): the oldest pending entry came at 1000.
    expect(s.stats()).toMatchObject({ pending: 3, unknown: 2, dead: 1, delivered: 0, oldestAgeS: 1 });
    // One lane (device:pos-1): only its head is due, and it is the oldest.
    const [head] = s.due(10, new Set());
    expect(head).toMatchObject({ receipt: es[4]!.receipt, idemKey: 'order-4', body: es[4]!.body, headers: es[4]!.headers, createdAt: 1000 });
    s.markDelivered(es[4]!.receipt, ok);
    expect(s.due(10, new Set()).map((e) => e.idemKey)).toEqual(['order-5']);
    expect(s.byReceipt(es[1]!.receipt)).toMatchObject({ state: 'dead', lastError: 'refused by the ERP', upstreamStatus: 400 });
    s.close();

    const again = await importExport(out, target, { clock });
    expect(again.added).toEqual({ pending: 0, unknown: 0, dead: 0 });
    expect(again.skipped.map((k) => `${k.idemKey}:${k.state}`)).toEqual(['order-1:dead', 'order-2:unknown', 'order-3:unknown', 'order-4:delivered', 'order-5:pending', 'order-6:pending']);
    const after = JournalStore.open(target, 1e9, clock);
    expect(after.stats()).toMatchObject({ pending: 2, unknown: 2, dead: 1, delivered: 1 });
    after.close();
  });

  it('into an existing journal: entries it has by key are skipped and reported, the rest follow what it holds', async () => {
    const source = join(dir, 'old.db');
    killedJournal(source);
    const out = join(dir, 'export.jsonl');
    exportOf(source, out);
    const target = join(dir, 'new.db');
    const s = JournalStore.open(target, 1e9);
    s.appendBatch([entry(5), entry(99)]);
    s.close();
    const r = await importExport(out, target);
    expect(r.added).toEqual({ pending: 2, unknown: 2, dead: 1 });
    expect(r.skipped).toEqual([expect.objectContaining({ idemKey: 'order-5', state: 'pending' })]);
    const after = JournalStore.open(target, 1e9);
    expect(after.list('pending', 10).map((e) => e.idemKey)).toEqual(['order-5', 'order-99', 'order-4', 'order-6']);
    after.close();
  });

  it("from a backup: pending entries of the routes held (an ERP that does not dedupe) come in unknown", async () => {
    const source = join(dir, 'old.db');
    const s = JournalStore.open(source, 1e9);
    s.appendBatch([entry(1), entry(2, { route: 'picking-validate' })]);
    s.close();
    const out = join(dir, 'export.jsonl');
    exportOf(source, out);
    const r = await importExport(out, join(dir, 'new.db'), { hold: (route) => route === 'picking-validate' });
    expect(r.added).toEqual({ pending: 1, unknown: 1, dead: 0 });
    const after = JournalStore.open(join(dir, 'new.db'), 1e9);
    expect(after.list('unknown', 10)).toEqual([expect.objectContaining({ idemKey: 'order-2', lastError: HELD_FROM_BACKUP })]);
    after.close();
  });

  it('a changed, cut-off or foreign file: a clear error, and nothing imported', async () => {
    const source = join(dir, 'old.db');
    killedJournal(source);
    const out = join(dir, 'export.jsonl');
    exportOf(source, out);
    const text = readFileSync(out, 'utf8');
    const target = join(dir, 'new.db');
    const cases: [string, string, RegExp][] = [
      ['changed.jsonl', text.replace('"attempts":0', '"attempts":1'), /checksum mismatch .*: the file was changed or damaged/],
      ['cut.jsonl', text.split('\n').slice(0, 4).join('\n') + '\n', /no end line: the file is cut off/],
      ['bad-line.jsonl', text.replace('"state":"pending"', '"state":"delivered"'), /line \d+: invalid state/],
      ['bad-class.jsonl', text.replace('"cls":"critical"', '"cls":"urgent"'), /line \d+: invalid cls/],
      ['not-export.jsonl', '{"hello":"world"}\n', /not a storegw journal export/],
      ['trailing.jsonl', `${text}{"kind":"entry"}\n`, /data after the end line/],
    ];
    for (const [name, content, message] of cases) {
      writeFileSync(join(dir, name), content);
      await expect(importExport(join(dir, name), target), name).rejects.toThrow(message);
    }
    const s = JournalStore.open(target, 1e9);
    expect(s.stats()).toMatchObject({ pending: 0, unknown: 0, dead: 0, delivered: 0 });
    s.close();
  });
});

describe('journal verify and backup', () => {
  it('reports integrity, schema version, counts by state and interrupted attempts of a stopped journal', () => {
    const journal = join(dir, 'journal.db');
    killedJournal(journal);
    const db = openStoppedJournal(journal);
    try {
      expect(journalReport(db, journal)).toEqual({
        file: journal,
        schemaVersion: 3,
        integrity: ['ok'],
        counts: { pending: 4, unknown: 1, dead: 1, delivered: 1 },
        interrupted: 1,
      });
    } finally {
      db.close();
    }
  });

  it('backs up a journal in use to a valid journal, mode 0600, nothing left beside it', async () => {
    const journal = join(dir, 'journal.db');
    const s = JournalStore.open(journal, 1e9);
    s.appendBatch([entry(1), entry(2)]);
    await expect(s.backup(join(dir, 'usb', 'journal-backup.db'))).rejects.toThrow(/usb does not exist \(is the disk or USB stick mounted\?\)/);
    await s.backup(join(dir, 'backup.db'));
    s.appendBatch([entry(3)]);
    await s.backup(join(dir, 'backup.db'));
    s.close();
    expect(statSync(join(dir, 'backup.db')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.startsWith('backup.db')).sort()).toEqual(['backup.db']);
    const db = openStoppedJournal(join(dir, 'backup.db'));
    try {
      expect(journalReport(db, 'b')).toMatchObject({ integrity: ['ok'], counts: { pending: 3 } });
    } finally {
      db.close();
    }
  });
});
