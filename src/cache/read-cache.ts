// The read cache's file: answers of `cache` routes, kept for when the ERP
// cannot answer. Unlike the journal it is disposable: losing it costs misses
// during the next outage, never a sale, so a file that cannot be used is moved
// aside and a failing write is logged and forgotten.
//
// Synchronous (better-sqlite3) on the event loop: commits do not fsync
// (synchronous = NORMAL) and entries are bounded (maxEntryBytes), so a write
// is a copy into the page cache, not a wait for the disk.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { scopeKey, lookupKeys, variantOf, type ReadRequest, type Scope } from './policy.js';
import { privateDbFile } from '../util/private-db-file.js';
import { disposableProblem, migrate, moveAside, sqliteFileProblem } from '../util/sqlite-file.js';

/** "SGWC": a storegw read cache (the journal is "SGWJ"). */
export const APPLICATION_ID = 0x53475743;

/**
 * Migration N brings the schema from version N to N+1. Append only. Bodies
 * live in their own table so that touching an entry (a stale hit, an unchanged
 * refresh) rewrites a small row, not the body: flash storage wears by writes.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE entries (
     id        INTEGER PRIMARY KEY,
     key       TEXT    NOT NULL,
     variant   TEXT    NOT NULL,
     vary      TEXT    NOT NULL,
     status    INTEGER NOT NULL,
     headers   TEXT    NOT NULL,
     digest    TEXT    NOT NULL,
     bytes     INTEGER NOT NULL,
     stored_at INTEGER NOT NULL,
     used_at   INTEGER NOT NULL
   );
   CREATE UNIQUE INDEX entries_variant ON entries (key, variant);
   CREATE INDEX entries_lru ON entries (used_at, id);
   CREATE TABLE bodies (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
   CREATE TRIGGER entries_delete AFTER DELETE ON entries BEGIN DELETE FROM bodies WHERE id = old.id; END;`,
];
const SCHEMA_VERSION = MIGRATIONS.length;

const MAX_ENTRY_BYTES = 8 * 1024 * 1024;
/** Row, index and header overhead counted per entry, so many tiny answers cannot outgrow maxBytes. */
const ENTRY_OVERHEAD = 256;
const WAL_LIMIT_BYTES = 64 * 1024 * 1024;
/** A full disk fails every write: one warning a minute says so without flooding the log. */
const WARN_EVERY_MS = 60_000;

export interface Answer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface CachedAnswer extends Answer {
  storedAt: number;
}

interface Candidate {
  id: number;
  variant: string;
  vary: string;
  status: number;
  headers: string;
  stored_at: number;
}

/** Renames the file and its WAL companions to `<file>.corrupt-<timestamp>`, kept for whoever wants to look. */
function prepare(file: string): Database.Database {
  // Bodies may hold prices, stock and customer data.
  privateDbFile(file);
  // Never wait on a lock (someone's sqlite3 shell): this runs on the event loop, and a skipped write only costs a miss.
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('journal_mode = WAL');
    // Consistent after a power cut (which often comes with the outage the cache is for), without an fsync per commit.
    db.pragma('synchronous = NORMAL');
    db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
    migrate(db, APPLICATION_ID, MIGRATIONS);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

const errorText = (e: unknown) => (e as { code?: string }).code ?? (e as Error).message;

export class ReadCache {
  /** Largest entry kept: a few huge answers must not push out the many small ones. */
  readonly maxEntryBytes: number;
  readonly #db: Database.Database;
  readonly #file: string;
  readonly #maxBytes: number;
  readonly #logger: Logger;
  #bytes: number;
  #warnedAt = -Infinity;
  #suppressed = 0;
  readonly #stmt;

  private constructor(db: Database.Database, file: string, maxBytes: number, logger: Logger) {
    this.#db = db;
    this.#file = file;
    this.#maxBytes = maxBytes;
    this.#logger = logger;
    this.maxEntryBytes = Math.min(MAX_ENTRY_BYTES, Math.floor(maxBytes / 16));
    this.#stmt = {
      candidates: db.prepare(`SELECT id, variant, vary, status, headers, stored_at FROM entries WHERE key IN (@a, @b) ORDER BY stored_at DESC, id DESC`),
      body: db.prepare(`SELECT body FROM bodies WHERE id = ?`),
      touch: db.prepare(`UPDATE entries SET used_at = ? WHERE id = ?`),
      same: db.prepare(`SELECT id, digest, vary, bytes FROM entries WHERE key = ? AND variant = ?`),
      refresh: db.prepare(`UPDATE entries SET headers = @headers, bytes = @bytes, stored_at = @now, used_at = @now WHERE id = @id`),
      // The ERP may have changed its Vary: the variants it keyed by the old list are dropped with it.
      replaced: db.prepare(`DELETE FROM entries WHERE key = @key AND (variant = @variant OR vary <> @vary) RETURNING bytes`),
      insert: db.prepare(
        `INSERT INTO entries (key, variant, vary, status, headers, digest, bytes, stored_at, used_at)
         VALUES (@key, @variant, @vary, @status, @headers, @digest, @bytes, @now, @now)`,
      ),
      insertBody: db.prepare(`INSERT INTO bodies (id, body) VALUES (?, ?)`),
      oldest: db.prepare(`SELECT id, bytes FROM entries ORDER BY used_at, id LIMIT 32`),
      remove: db.prepare(`DELETE FROM entries WHERE id = ?`),
      total: db.prepare(`SELECT COALESCE(SUM(bytes), 0) AS b FROM entries`),
    };
    this.#bytes = (this.#stmt.total.get() as { b: number }).b;
  }

  /**
   * Opens (or creates) the cache file. A foreign, damaged or newer file is
   * moved aside and an empty cache started. Undefined when no cache can be
   * had at all (e.g. an unwritable folder): cache routes are then forwarded
   * live only, and the gateway keeps selling.
   */
  static open(file: string, maxBytes: number, logger: Logger): ReadCache | undefined {
    const setAside = (reason: string) => {
      const movedTo = moveAside(file);
      logger.warn({ file, movedTo, reason }, 'read cache file unusable: moved aside, starting an empty cache');
    };
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const problem = sqliteFileProblem(file, APPLICATION_ID, SCHEMA_VERSION);
      if (problem) setAside(disposableProblem(problem, 'cache'));
      let db: Database.Database;
      try {
        db = prepare(file);
      } catch (e) {
        if (!existsSync(file)) throw e;
        setAside(`cannot prepare it (${errorText(e)})`);
        db = prepare(file);
      }
      return new ReadCache(db, file, maxBytes, logger);
    } catch (e) {
      logger.error({ file, err: e }, 'read cache unavailable: cache routes are forwarded live only');
      return undefined;
    }
  }

  /** The newest kept answer `req` may be given, if any. */
  lookup(req: ReadRequest, now: number): CachedAnswer | undefined {
    let hit: { id: number; answer: CachedAnswer } | undefined;
    try {
      hit = this.#find(req);
    } catch (e) {
      this.#warn('read', e);
      return undefined;
    }
    if (!hit) return undefined;
    try {
      this.#stmt.touch.run(now, hit.id);
    } catch (e) {
      this.#warn('write', e);
    }
    return hit.answer;
  }

  /** Keeps `answer` for requests like `req` in `scope`, selected by the `vary` headers. Never throws. */
  store(req: ReadRequest, place: { scope: Scope; vary: string[] }, answer: Answer, now: number): void {
    const headers = JSON.stringify(answer.headers);
    const bytes = answer.body.length + headers.length + ENTRY_OVERHEAD;
    if (bytes > this.maxEntryBytes) return;
    const key = scopeKey(req, place.scope);
    const variant = variantOf(place.vary, req.headers);
    const vary = JSON.stringify(place.vary);
    const digest = createHash('sha256').update(String(answer.status)).update(answer.body).digest('hex');
    const before = this.#bytes;
    try {
      this.#db.transaction(() => {
        const same = this.#stmt.same.get(key, variant) as { id: number; digest: string; vary: string; bytes: number } | undefined;
        if (same && same.digest === digest && same.vary === vary) {
          this.#stmt.refresh.run({ id: same.id, headers, bytes, now });
          this.#bytes += bytes - same.bytes;
        } else {
          for (const r of this.#stmt.replaced.all({ key, variant, vary }) as { bytes: number }[]) this.#bytes -= r.bytes;
          const { lastInsertRowid } = this.#stmt.insert.run({ key, variant, vary, status: answer.status, headers, digest, bytes, now });
          this.#stmt.insertBody.run(lastInsertRowid, answer.body);
          this.#bytes += bytes;
        }
        this.#evict();
      })();
    } catch (e) {
      this.#bytes = before;
      this.#warn('write', e);
    }
  }

  close(): void {
    this.#db.close();
  }

  #find(req: ReadRequest): { id: number; answer: CachedAnswer } | undefined {
    const [a, b = a] = lookupKeys(req);
    const rows = this.#stmt.candidates.all({ a, b }) as Candidate[];
    const hit = rows.find((r) => variantOf(JSON.parse(r.vary) as string[], req.headers) === r.variant);
    const row = hit && (this.#stmt.body.get(hit.id) as { body: Buffer } | undefined);
    if (!hit || !row) return undefined;
    return { id: hit.id, answer: { status: hit.status, headers: JSON.parse(hit.headers) as Answer['headers'], body: row.body, storedAt: hit.stored_at } };
  }

  /** Least recently stored or used first, until the total is under maxBytes again. */
  #evict(): void {
    while (this.#bytes > this.#maxBytes) {
      const victims = this.#stmt.oldest.all() as { id: number; bytes: number }[];
      if (victims.length === 0) return;
      for (const v of victims) {
        if (this.#bytes <= this.#maxBytes) return;
        this.#stmt.remove.run(v.id);
        this.#bytes -= v.bytes;
      }
    }
  }

  #warn(what: 'read' | 'write', e: unknown): void {
    const now = Date.now();
    if (now - this.#warnedAt < WARN_EVERY_MS) {
      this.#suppressed++;
      return;
    }
    const code = (e as { code?: string }).code;
    this.#logger.warn(
      { file: this.#file, err: e, ...(code === 'SQLITE_FULL' && { reason: 'disk full' }), suppressedSinceLast: this.#suppressed },
      `read cache ${what} failed; answering without it`,
    );
    this.#warnedAt = now;
    this.#suppressed = 0;
  }
}
