import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { storability, type ReadRequest } from './policy.js';
import { ReadCache, type Answer } from './read-cache.js';

let dir: string;
let file: string;
let lines: string[];
let open: ReadCache[];
const logger = () =>
  createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'storegw-cache-'));
  file = join(dir, 'cache.db');
  lines = [];
  open = [];
});
afterEach(() => {
  for (const c of open) c.close();
  rmSync(dir, { recursive: true, force: true });
});

function openCache(maxBytes = 1024 * 1024, at = file): ReadCache {
  const c = ReadCache.open(at, maxBytes, logger());
  if (!c) throw new Error(`cache did not open: ${lines.join('')}`);
  open.push(c);
  return c;
}

const get = (target: string, headers: ReadRequest['headers'] = {}): ReadRequest => ({ method: 'GET', target, host: 'gw.store', headers });
const answer = (body: string | Buffer, headers: Answer['headers'] = { 'content-type': 'application/json' }): Answer => ({ status: 200, headers, body: Buffer.from(body) });

/** Stores `a` as the gateway would: only when the policy allows, where it says. */
function keep(c: ReadCache, req: ReadRequest, a: Answer, now = 1000): void {
  const s = storability(req, a.status, a.headers);
  if (s.store) c.store(req, s, a, now);
}

const bodyOf = (c: ReadCache, req: ReadRequest) => c.lookup(req, 2000)?.body.toString();

describe('ReadCache', () => {
  it('answers a read with what was kept for it, with the time it was stored; the key includes the query', () => {
    const c = openCache();
    keep(c, get('/catalog?page=1'), answer('page one', { 'content-type': 'application/json', etag: '"p1"' }), 1234);
    expect(c.lookup(get('/catalog?page=1'), 2000)).toEqual({ status: 200, headers: { 'content-type': 'application/json', etag: '"p1"' }, body: Buffer.from('page one'), storedAt: 1234 });
    expect(c.lookup(get('/catalog?page=2'), 2000)).toBeUndefined();
    expect(c.lookup(get('/catalog'), 2000)).toBeUndefined();
    expect(bodyOf(c, { ...get('/catalog?page=1'), method: 'HEAD' })).toBe('page one');
  });

  it('replaces an answer with a newer one for the same variant', () => {
    const c = openCache();
    keep(c, get('/p'), answer('old'), 1000);
    keep(c, get('/p'), answer('new'), 1500);
    expect(c.lookup(get('/p'), 2000)).toMatchObject({ body: Buffer.from('new'), storedAt: 1500 });
    keep(c, get('/p'), answer('new', { 'content-type': 'application/json', etag: '"2"' }), 1800);
    expect(c.lookup(get('/p'), 2000)).toMatchObject({ body: Buffer.from('new'), headers: { etag: '"2"' }, storedAt: 1800 });
  });

  it('keeps one variant per value of the Vary headers, and the negotiation headers always', () => {
    const c = openCache();
    const vary = { 'content-type': 'text/plain', vary: 'X-Company' };
    keep(c, get('/price', { 'x-company': '1', 'accept-language': 'de' }), answer('c1 de', vary));
    keep(c, get('/price', { 'x-company': '2', 'accept-language': 'de' }), answer('c2 de', vary));
    keep(c, get('/price', { 'x-company': '1', 'accept-language': 'fr' }), answer('c1 fr', vary));
    expect(bodyOf(c, get('/price', { 'x-company': '1', 'accept-language': 'de' }))).toBe('c1 de');
    expect(bodyOf(c, get('/price', { 'x-company': '2', 'accept-language': 'de' }))).toBe('c2 de');
    expect(bodyOf(c, get('/price', { 'x-company': '1', 'accept-language': 'fr' }))).toBe('c1 fr');
    expect(bodyOf(c, get('/price', { 'x-company': '3', 'accept-language': 'de' }))).toBeUndefined();
    expect(bodyOf(c, get('/price', { 'x-company': '1' }))).toBeUndefined();
    // The ERP stops varying by company: the variants keyed by the old list go.
    keep(c, get('/price', { 'accept-language': 'de' }), answer('any de', { 'content-type': 'text/plain' }));
    expect(bodyOf(c, get('/price', { 'x-company': '2', 'accept-language': 'de' }))).toBe('any de');
    expect(bodyOf(c, get('/price', { 'x-company': '1', 'accept-language': 'fr' }))).toBeUndefined();
  });

  it('never keeps no-store, private or Vary: * answers', () => {
    const c = openCache();
    keep(c, get('/a'), answer('a', { 'cache-control': 'no-store' }));
    keep(c, get('/b'), answer('b', { 'cache-control': 'private, max-age=60' }));
    keep(c, get('/c'), answer('c', { vary: '*' }));
    for (const t of ['/a', '/b', '/c']) expect(c.lookup(get(t), 2000)).toBeUndefined();
  });

  it('gives a session’s answers back to that session only; public ones to everyone', () => {
    const c = openCache();
    const alice = { cookie: 'session_id=alice' };
    keep(c, get('/me', alice), answer('alice’s'));
    expect(bodyOf(c, get('/me', alice))).toBe('alice’s');
    expect(bodyOf(c, get('/me', { cookie: 'session_id=bob' }))).toBeUndefined();
    expect(bodyOf(c, get('/me'))).toBeUndefined();
    keep(c, get('/logo.png', alice), answer('logo', { 'cache-control': 'public, max-age=3600' }));
    expect(bodyOf(c, get('/logo.png', { cookie: 'session_id=bob' }))).toBe('logo');
    expect(bodyOf(c, get('/logo.png'))).toBe('logo');
    // Neither cookie values nor authorization reach the file.
    const raw = readFileSync(file).toString('latin1') + (existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`).toString('latin1') : '');
    expect(raw).not.toContain('session_id=alice');
  });

  it('stays under maxBytes by evicting the least recently stored or used entries', () => {
    const maxBytes = 64 * 1024;
    const c = openCache(maxBytes);
    expect(c.maxEntryBytes).toBe(4096);
    const body = Buffer.alloc(3000, 'x');
    for (let i = 0; i < 10; i++) keep(c, get(`/item/${i}`), answer(body), 1000 + i);
    // A read during an outage counts as use: /item/0 outlives the ones stored after it.
    expect(c.lookup(get('/item/0'), 5000)).toBeDefined();
    for (let i = 10; i < 25; i++) keep(c, get(`/item/${i}`), answer(body), 6000 + i);
    const db = new Database(file, { readonly: true });
    const { n, bytes } = db.prepare('SELECT count(*) AS n, SUM(bytes) AS bytes FROM entries').get() as { n: number; bytes: number };
    const bodies = (db.prepare('SELECT count(*) AS n FROM bodies').get() as { n: number }).n;
    db.close();
    expect(bytes).toBeLessThanOrEqual(maxBytes);
    expect(n).toBeGreaterThan(15);
    expect(bodies).toBe(n);
    expect(c.lookup(get('/item/24'), 9000)).toBeDefined();
    expect(c.lookup(get('/item/1'), 9000)).toBeUndefined();
    expect(c.lookup(get('/item/0'), 9000)).toBeDefined();
  });

  it('does not keep an entry over maxEntryBytes', () => {
    const c = openCache(64 * 1024);
    keep(c, get('/big'), answer(Buffer.alloc(5000)));
    expect(c.lookup(get('/big'), 2000)).toBeUndefined();
  });

  it('keeps its entries across a reopen, in a file only its owner may read', () => {
    keep(openCache(), get('/kept'), answer('kept'));
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(statSync(`${file}-wal`).mode & 0o077).toBe(0);
    open.pop()!.close();
    expect(bodyOf(openCache(), get('/kept'))).toBe('kept');
  });

  it('moves a corrupt file aside, with its WAL, and starts empty', () => {
    writeFileSync(file, Buffer.alloc(8192, 0x5a));
    writeFileSync(`${file}-wal`, 'junk');
    const c = openCache();
    const aside = readdirSync(dir).find((f) => /^cache\.db\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/.test(f));
    expect(aside).toBeDefined();
    expect(readFileSync(join(dir, aside!))).toEqual(Buffer.alloc(8192, 0x5a));
    expect(readFileSync(join(dir, `${aside!}-wal`), 'utf8')).toBe('junk');
    expect(lines.join('')).toMatch(/read cache file unusable: moved aside/);
    keep(c, get('/x'), answer('fresh'));
    expect(bodyOf(c, get('/x'))).toBe('fresh');
  });

  it('moves a foreign database aside (the journal included) rather than write into it', () => {
    const journal = new Database(file);
    journal.pragma('application_id = 0x5347574a');
    journal.exec('CREATE TABLE entries (seq INTEGER PRIMARY KEY)');
    journal.close();
    openCache();
    expect(readdirSync(dir).some((f) => f.startsWith('cache.db.corrupt-'))).toBe(true);
    expect(lines.join('')).toMatch(/another application \(application_id 1397184330\)/);
  });

  it('is undefined, with an error logged, when no file can be had at all', () => {
    writeFileSync(join(dir, 'not-a-folder'), '');
    expect(ReadCache.open(join(dir, 'not-a-folder', 'cache.db'), 1024 * 1024, logger())).toBeUndefined();
    expect(lines.join('')).toMatch(/read cache unavailable/);
  });

  it('logs a failing write and carries on, still answering what it holds', () => {
    const c = openCache();
    keep(c, get('/held'), answer('held'));
    // Another writer holds the lock: every write fails, as on a full disk.
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    try {
      expect(() => keep(c, get('/new'), answer('new'))).not.toThrow();
      expect(bodyOf(c, get('/held'))).toBe('held');
      expect(lines.join('')).toMatch(/read cache write failed; answering without it/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    keep(c, get('/new'), answer('new'));
    expect(bodyOf(c, get('/new'))).toBe('new');
  });
});
