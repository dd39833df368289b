// The journal database on real SQLite files.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPLICATION_ID, MIGRATIONS } from './journal-schema.js';
import { JournalOpenError, JournalStore, type NewEntry } from './journal-store.js';
import { TestClock } from '../test/support/journal-clock.js';

let dir: string;
let file: string;
let clock: TestClock;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'storegw-journal-'));
  file = join(dir, 'journal.db');
  clock = new TestClock();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const entry = (over: Partial<NewEntry> = {}): NewEntry => ({
  receipt: randomUUID(),
  idemKey: randomUUID(),
  route: 'pos-orders',
  cls: 'critical',
  priority: 0,
  orderingKey: 'device:pos-1',
  method: 'POST',
  target: '/web/dataset/call_kw/pos.order/sync_from_ui',
  headers: { 'content-type': 'application/json' },
  body: Buffer.from('{"params":{}}'),
  ...over,
});

const ok = { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"result":true}') };
/** The journal at `file`, its times on the test's clock. */
const open = (maxBytes = 1e9) => JournalStore.open(file, maxBytes, clock);
const HOUR = 3_600_000;

describe('journal store', () => {
  it('stores entries durably and reopens them', () => {
    const s = open();
    const [r] = s.appendBatch([entry({ receipt: 'r-1', idemKey: 'k-1' })]);
    expect(r).toMatchObject({ status: 'stored', entry: { receipt: 'r-1', state: 'pending', attempts: 0 }, queuedBehind: false });
    s.close();
    const again = open();
    expect(again.byReceipt('r-1')).toMatchObject({ idemKey: 'k-1', state: 'pending' });
    expect(again.stats()).toMatchObject({ pending: 1, dead: 0 });
    again.close();
  });

  it('never stores the same idempotency key twice; the second append sees the first entry', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'a', idemKey: 'same' })]);
    const [dup] = s.appendBatch([entry({ receipt: 'b', idemKey: 'same' })]);
    expect(dup).toMatchObject({ status: 'existing', entry: { receipt: 'a' }, response: undefined });
    s.markDelivered('a', ok);
    const [after] = s.appendBatch([entry({ receipt: 'c', idemKey: 'same' })]);
    expect(after).toMatchObject({ status: 'existing', entry: { receipt: 'a', state: 'delivered' }, response: { status: 200 } });
    expect(after?.status === 'existing' && after.response?.body.toString()).toBe('{"result":true}');
    expect(s.stats()).toMatchObject({ pending: 0, delivered: 1 });
    s.close();
  });

  it('hands out only the head of each ordering key, critical first', () => {
    const s = open();
    s.appendBatch(
      [
        entry({ receipt: 'd1-a', orderingKey: 'device:1', cls: 'normal', priority: 2 }),
        entry({ receipt: 'd1-b', orderingKey: 'device:1', cls: 'critical', priority: 0 }),
        entry({ receipt: 'd2-a', orderingKey: 'device:2', cls: 'critical', priority: 0 }),
        entry({ receipt: 'free', orderingKey: null, cls: 'bulk', priority: 3 }),
      ],
    );
    expect(s.due(10, new Set()).map((e) => e.receipt)).toEqual(['d2-a', 'd1-a', 'free']);
    // The head in flight blocks its lane but not the others.
    expect(s.due(10, new Set(['d1-a'])).map((e) => e.receipt)).toEqual(['d2-a', 'free']);
    s.markDelivered('d1-a', ok);
    expect(s.due(10, new Set()).map((e) => e.receipt)).toEqual(['d1-b', 'd2-a', 'free']);
    s.close();
  });

  it('tells an append that it is queued behind an earlier pending entry of its lane', () => {
    const s = open();
    const [first, second, other] = s.appendBatch(
      [entry({ orderingKey: 'device:1' }), entry({ orderingKey: 'device:1' }), entry({ orderingKey: 'device:2' })],
    );
    expect(first).toMatchObject({ queuedBehind: false });
    expect(second).toMatchObject({ queuedBehind: true });
    expect(other).toMatchObject({ queuedBehind: false });
    s.close();
  });

  it('keeps a retried entry back until its next attempt time, and its lane with it', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'h', orderingKey: 'store:s' }), entry({ receipt: 't', orderingKey: 'store:s' })]);
    clock.at(100);
    s.markRetry('h', 4900, 'HTTP 503', 503);
    clock.at(4999);
    expect(s.due(10, new Set())).toEqual([]);
    // The tail is due (behind its head): the scheduler looks again at once.
    expect(s.nextDueInMs()).toBe(0);
    clock.at(5000);
    expect(s.due(10, new Set()).map((e) => e.receipt)).toEqual(['h']);
    expect(s.byReceipt('h')).toMatchObject({ attempts: 1, lastError: 'HTTP 503', upstreamStatus: 503 });
    s.close();
  });

  it('makes due now what waited only for the network, keeping the waits the ERP asked for', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'net' }), entry({ receipt: 'erp' })]);
    clock.at(100);
    s.markRetry('net', 59_900, 'ECONNREFUSED', null);
    s.markRetry('erp', 59_900, 'HTTP 503', 503);
    clock.at(200);
    expect(s.expedite()).toBe(1);
    expect(s.due(10, new Set()).map((e) => e.receipt)).toEqual(['net']);
    clock.at(300);
    expect(s.expedite()).toBe(0);
    s.close();
  });

  it('returns the request as stored, body and headers included', () => {
    const s = open();
    const body = Buffer.from([0, 1, 2, 255]);
    s.appendBatch([entry({ receipt: 'x', headers: { cookie: 'session_id=1', 'x-multi': ['a', 'b'] }, body })]);
    const [due] = s.due(1, new Set());
    expect(due).toMatchObject({ receipt: 'x', method: 'POST', headers: { cookie: 'session_id=1', 'x-multi': ['a', 'b'] } });
    expect(Buffer.compare(due!.body!, body)).toBe(0);
    s.close();
  });

  it('moves dead letters out of the queue; an operator can retry or discard them, nothing else', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'p' }), entry({ receipt: 'q', orderingKey: 'device:9' })]);
    expect(s.discard('p')).toBe(false);
    s.markDead('p', 'HTTP 422', true, { status: 422, headers: {}, body: Buffer.from('bad') });
    expect(s.list('dead', 10).map((e) => e.receipt)).toEqual(['p']);
    expect(s.due(10, new Set()).map((e) => e.receipt)).toEqual(['q']);
    expect(s.retryDead('p')).toBe(true);
    expect(s.byReceipt('p')).toMatchObject({ state: 'pending', attempts: 0 });
    s.markDead('p', 'HTTP 422', true);
    expect(s.discard('p')).toBe(true);
    expect(s.byReceipt('p')).toBeUndefined();
    expect(s.stats()).toMatchObject({ pending: 1, dead: 0 });
    s.close();
  });

  it('expires old pending entries into dead letters with the reason, never deleting them', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'old' })]);
    clock.at(HOUR);
    s.appendBatch([entry({ receipt: 'new' })]);
    clock.at(HOUR + 1);
    expect(s.expire(HOUR)).toEqual(['old']);
    expect(s.byReceipt('old')).toMatchObject({ state: 'dead', lastError: 'expired: pending longer than 1 h', attempts: 0 });
    expect(s.byReceipt('new')).toMatchObject({ state: 'pending' });
    s.close();
  });

  it('refuses appends beyond the quota and stores none of what does not fit', () => {
    const s = open(2500);
    const big = () => entry({ body: Buffer.alloc(700) });
    const results = s.appendBatch([big(), big(), big()]);
    expect(results.map((r) => r.status)).toEqual(['stored', 'stored', 'full']);
    expect(s.stats().pending).toBe(2);
    // Delivering frees quota.
    const [first] = s.due(1, new Set());
    s.markDelivered(first!.receipt, ok);
    expect(s.appendBatch([big()])[0]!.status).toBe('stored');
    s.close();
  });

  it('forgets delivered entries only after their keep time', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'd' })]);
    clock.at(100);
    s.markDelivered('d', ok);
    clock.at(200);
    expect(s.purgeDelivered(100)).toBe(0);
    expect(s.purgeDelivered(99)).toBe(1);
    expect(s.byReceipt('d')).toBeUndefined();
    s.close();
  });

  it('counts stay right across reopen', () => {
    const s = open();
    s.appendBatch([entry({ receipt: '1' }), entry({ receipt: '2', orderingKey: null }), entry({ receipt: '3', orderingKey: null })]);
    s.markDead('2', 'x', true);
    s.markDelivered('3', ok);
    const before = s.stats();
    s.close();
    const again = open();
    expect(again.stats()).toEqual(before);
    expect(before).toMatchObject({ pending: 1, dead: 1, delivered: 1 });
    again.close();
  });
});

describe('unknown outcomes', () => {
  const unknown = (s: JournalStore, receipt: string, checkAfterMs: number) =>
    s.write([{ op: 'unknown', receipt, reason: 'may have reached the ERP (timeout)', status: null, checkAfterMs }])[0];

  it('holds an ambiguous entry out of replay, counted and listed, until it is settled', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'u', orderingKey: 'device:s1' }), entry({ receipt: 'next', orderingKey: 'device:s1' })]);
    expect(unknown(s, 'u', 500)).toBe(true);
    expect(s.stats()).toMatchObject({ pending: 1, unknown: 1 });
    expect(s.list('unknown', 10).map((e) => [e.receipt, e.attempts, e.lastError])).toEqual([['u', 1, 'may have reached the ERP (timeout)']]);
    // Never picked for replay; it does not hold its lane (the rest of the device's queue goes on).
    clock.at(1e12);
    expect(s.due(10, new Set()).map((e) => e.receipt)).toEqual(['next']);
    // Only unknown entries can be settled, and only once.
    clock.advance(20);
    expect(s.settle('next', 'retry', 'ops:alice')).toBe(false);
    expect(s.settle('u', 'delivered', 'ops:alice')).toBe(true);
    expect(s.settle('u', 'retry', 'ops:alice')).toBe(false);
    expect(s.byReceipt('u')).toMatchObject({ state: 'delivered', settledBy: 'ops:alice', settledAt: 1e12 + 20 });
    s.close();
  });

  it('puts an entry settled as "did not happen" back in its lane, in its place, and keeps its key and answer for the client', () => {
    const s = open();
    const [first] = s.appendBatch([entry({ receipt: 'u', idemKey: 'save-1', orderingKey: 'device:s1' })]);
    unknown(s, 'u', 0);
    s.appendBatch([entry({ receipt: 'later', orderingKey: 'device:s1' })]);
    expect(s.settle('u', 'retry', 'read-back check')).toBe(true);
    expect(s.due(10, new Set()).map((e) => e.receipt)).toEqual(['u']);
    expect(s.byReceipt('u')).toMatchObject({ state: 'pending', seq: first?.status === 'stored' ? first.entry.seq : -1, settledBy: 'read-back check' });
    s.markDelivered('u', ok);
    const again = s.appendBatch([entry({ idemKey: 'save-1' })])[0];
    expect(again).toMatchObject({ status: 'existing', entry: { receipt: 'u', state: 'delivered' }, response: { status: 200 } });
    s.close();
  });

  it('answers a re-send of an entry settled as delivered with what the settlement says, not a made-up ERP answer', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'u', idemKey: 'save-2' })]);
    unknown(s, 'u', 0);
    s.settle('u', 'delivered', 'ops:bob');
    const again = s.appendBatch([entry({ idemKey: 'save-2' })])[0];
    expect(again?.status === 'existing' && again.response?.headers['x-gateway-settled-by']).toBe('ops:bob');
    expect(s.stats()).toMatchObject({ unknown: 0, delivered: 1, bytes: 0 });
    s.close();
  });

  it('offers for read-back only the unknown entries of checked routes whose time has come', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'a', route: 'saves', orderingKey: null }), entry({ receipt: 'b', route: 'saves', orderingKey: null }), entry({ receipt: 'c', route: 'other', orderingKey: null })]);
    unknown(s, 'a', 100);
    unknown(s, 'b', 900);
    unknown(s, 'c', 100);
    clock.at(500);
    expect(s.checksDue(['saves'], 10, new Set()).map((e) => e.receipt)).toEqual(['a']);
    expect(s.checksDue(['saves'], 10, new Set(['a']))).toEqual([]);
    clock.at(600);
    s.write([{ op: 'checkLater', receipt: 'a', afterMs: 1400, error: 'read-back failed: no answer' }]);
    clock.at(1000);
    expect(s.checksDue(['saves'], 10, new Set()).map((e) => e.receipt)).toEqual(['b']);
    expect(s.byReceipt('a')?.lastError).toBe('read-back failed: no answer');
    s.close();
  });

  it('an attempt begun and never settled (the process was killed during it) is unknown at the next open, not pending', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'begun', orderingKey: null }), entry({ receipt: 'settled', orderingKey: null }), entry({ receipt: 'untouched', orderingKey: null })]);
    expect(s.write([{ op: 'begin', receipt: 'begun' }, { op: 'begin', receipt: 'settled' }])).toEqual([true, true]);
    s.markRetry('settled', 5, 'HTTP 503', 503);
    s.close();
    const again = open();
    expect(again.byReceipt('begun')).toMatchObject({ state: 'unknown', attempts: 1, lastError: expect.stringMatching(/^interrupted/) });
    expect(again.byReceipt('settled')?.state).toBe('pending');
    expect(again.byReceipt('untouched')?.state).toBe('pending');
    expect(again.stats()).toMatchObject({ pending: 2, unknown: 1 });
    // What this open made unknown, for the fleet's events; the open after it made nothing.
    expect(again.interruptedAtOpen()).toMatchObject([{ receipt: 'begun', state: 'unknown', attempts: 1, route: 'pos-orders' }]);
    again.close();
    const third = open();
    expect(third.interruptedAtOpen()).toEqual([]);
    third.close();
  });

  it('migrates a journal of the first schema in place: entries, states, seq and counter kept', () => {
    const old = new Database(file);
    old.exec(MIGRATIONS[0]!);
    old.pragma(`application_id = ${APPLICATION_ID}`);
    old.pragma('user_version = 1');
    const row = (seq: number, state: string) =>
      old
        .prepare(
          `INSERT INTO entries (seq, receipt, idem_key, route, class, priority, method, target, headers, bytes, state, next_attempt_at, created_at, updated_at)
           VALUES (?, ?, ?, 'r', 'critical', 0, 'POST', '/x', '{}', 10, ?, 0, 0, 0)`,
        )
        .run(seq, `rc-${seq}`, `k-${seq}`, state);
    row(1, 'pending');
    row(7, 'dead');
    row(9, 'delivered');
    old.prepare('DELETE FROM entries WHERE seq = 9').run();
    old.close();

    const s = open();
    expect(s.stats()).toMatchObject({ pending: 1, dead: 1, delivered: 0, unknown: 0 });
    expect(s.byReceipt('rc-7')).toMatchObject({ seq: 7, state: 'dead', settledBy: null });
    // AUTOINCREMENT's counter survives the rebuild: a purged seq is never handed out again.
    const [next] = s.appendBatch([entry()]);
    expect(next?.status === 'stored' && next.entry.seq).toBe(10);
    s.close();
  });
});

describe('journal times: a monotonic clock judges, the wall clock is shown', () => {
  it('a backward wall-clock step does not hold a retry for its length', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'h' })]);
    s.markRetry('h', 5000, 'HTTP 503', 503);
    clock.step(-HOUR);
    clock.advance(4999);
    expect(s.due(10, new Set())).toEqual([]);
    expect(s.nextDueInMs()).toBe(1);
    clock.advance(1);
    expect(s.due(10, new Set()).map((e) => e.receipt)).toEqual(['h']);
    // What people see is the wall clock as it read when the retry was set.
    expect(s.byReceipt('h')).toMatchObject({ createdAt: 0, nextAttemptAt: 5000 });
    s.close();
  });

  it('a forward wall-clock step past the maximum age expires nothing and purges no answer; time passing does', () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'waiting' }), entry({ receipt: 'done', orderingKey: null })]);
    s.markDelivered('done', ok);
    clock.step(200 * HOUR);
    expect(s.expire(168 * HOUR)).toEqual([]);
    expect(s.purgeDelivered(48 * HOUR)).toBe(0);
    expect(s.stats().oldestAgeS).toBe(0);
    clock.advance(168 * HOUR + 1);
    expect(s.expire(168 * HOUR)).toEqual(['waiting']);
    expect(s.purgeDelivered(48 * HOUR)).toBe(1);
    s.close();
  });

  it("a restart on the same boot reads on in the journal's times", () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'x' })]);
    s.markRetry('x', 120_000, 'HTTP 503', 503);
    s.close();
    clock.advance(60_000);
    const again = open();
    expect(again.stats().oldestAgeS).toBe(60);
    expect(again.nextDueInMs()).toBe(60_000);
    clock.advance(60_000);
    expect(again.due(10, new Set()).map((e) => e.receipt)).toEqual(['x']);
    again.close();
  });

  it('after a reboot ages and waits go on from the last time the journal was seen in use, the time off not counted', () => {
    clock.at(10_000);
    const s = open();
    s.appendBatch([entry({ receipt: 'x' })]);
    clock.at(20_000);
    s.markRetry('x', 30_000, 'HTTP 503', 503);
    s.close();
    // Off for a day; the new boot's monotonic clock starts again near 0.
    clock.reboot('boot-2', 5_000, 24 * HOUR);
    const again = open();
    expect(again.stats().oldestAgeS).toBe(10);
    expect(again.nextDueInMs()).toBe(30_000);
    clock.advance(30_000);
    expect(again.due(10, new Set()).map((e) => e.receipt)).toEqual(['x']);
    expect(again.expire(40_000)).toEqual([]);
    clock.advance(1);
    expect(again.expire(40_000)).toEqual(['x']);
    again.close();
  });

  it("a gateway that died without closing the journal: after the reboot its clock goes on from housekeeping's last pass", () => {
    const s = open();
    s.appendBatch([entry({ receipt: 'x' })]);
    clock.at(25_000);
    s.expire(HOUR);
    clock.at(40_000);
    // The power is cut: s is never closed; the next boot opens the file as it is.
    clock.reboot('boot-2', 3_000, HOUR);
    const again = open();
    expect(again.stats().oldestAgeS).toBe(25);
    again.close();
  });

  it('migrates a journal of the second schema: its wall-clock times carried over, the last of them now, and still shown as they were', () => {
    const old = new Database(file);
    old.exec(MIGRATIONS[0]!);
    old.exec(MIGRATIONS[1]!);
    old.pragma(`application_id = ${APPLICATION_ID}`);
    old.pragma('user_version = 2');
    old
      .prepare(
        `INSERT INTO entries (receipt, idem_key, route, class, priority, method, target, headers, bytes, state, next_attempt_at, created_at, updated_at)
         VALUES ('waiting', 'k-1', 'r', 'critical', 0, 'POST', '/x', '{}', 10, 'pending', 1400000, 1000000, 1360000)`,
      )
      .run();
    old.close();
    clock.at(7_000);
    const s = open();
    expect(s.stats()).toMatchObject({ pending: 1, oldestAgeS: 360 });
    expect(s.nextDueInMs()).toBe(40_000);
    expect(s.byReceipt('waiting')).toMatchObject({ createdAt: 1_000_000, updatedAt: 1_360_000, nextAttemptAt: 1_400_000 });
    s.close();
  });
});

describe('journal files it must not touch', () => {
  it('refuses a file that is not a database, and leaves it unchanged', () => {
    writeFileSync(file, 'these are the store manager\'s notes, not a journal\n'.repeat(100));
    const before = readFileSync(file);
    expect(() => JournalStore.open(file, 1e9)).toThrow(JournalOpenError);
    expect(() => JournalStore.open(file, 1e9)).toThrow(/is not a database/);
    expect(Buffer.compare(readFileSync(file), before)).toBe(0);
  });

  it("refuses another application's SQLite database, and leaves it unchanged", () => {
    const other = new Database(file);
    other.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);');
    other.close();
    const before = readFileSync(file);
    const mtime = statSync(file).mtimeMs;
    expect(() => JournalStore.open(file, 1e9)).toThrow(/another application/);
    expect(Buffer.compare(readFileSync(file), before)).toBe(0);
    expect(statSync(file).mtimeMs).toBe(mtime);
  });

  it('refuses a damaged journal with a clear error, and leaves it for recovery', () => {
    const s = open();
    s.appendBatch(Array.from({ length: 200 }, () => entry({ body: Buffer.alloc(2000, 7) })));
    s.close();
    // Overwrite a stretch of pages in the middle of the file.
    const bytes = readFileSync(file);
    bytes.fill(0xa5, 8192, 8192 + 4096 * 4);
    writeFileSync(file, bytes);
    expect(() => JournalStore.open(file, 1e9)).toThrow(/integrity check failed|is corrupt|not a database/);
    expect(Buffer.compare(readFileSync(file), bytes)).toBe(0);
  });

  it('refuses a journal written by a newer storegw', () => {
    open().close();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    expect(() => JournalStore.open(file, 1e9)).toThrow(/newer than this storegw/);
  });
});
