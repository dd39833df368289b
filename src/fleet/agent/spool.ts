// Telemetry and events taken while the hub cannot be reached, kept in SQLite
// until it can, so central sees the outage rather than a gap. Bounded: when
// full, the oldest telemetry is rolled up (ten samples into one, then ten of
// those into one, ...) so the outage keeps its shape at a coarser grain; events
// go only when no telemetry is left to merge.
//
// Disposable, like the read cache: a file that cannot be used is moved aside
// and a new one started, and a failing write (a full disk) drops the message
// with a warning. Synchronous on the event loop, without an fsync per commit
// (synchronous = NORMAL): rows are small and only written while the hub is away.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { EventMessage, TelemetryMessage } from '../protocol.js';
import { rollUp } from './rollup.js';
import { privateDbFile } from '../../util/private-db-file.js';
import { disposableProblem, migrate, moveAside, sqliteFileProblem } from '../../util/sqlite-file.js';

/** "SGWF": a storegw fleet spool (the journal is "SGWJ", the read cache "SGWC"). */
export const APPLICATION_ID = 0x53475746;

/** Migration N brings the schema from version N to N+1. Append only. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE messages (
     seq   INTEGER PRIMARY KEY AUTOINCREMENT,
     kind  TEXT    NOT NULL CHECK (kind IN ('telemetry', 'event')),
     ts    INTEGER NOT NULL,
     -- how many telemetry samples the row stands for
     n     INTEGER NOT NULL DEFAULT 1,
     body  TEXT    NOT NULL,
     bytes INTEGER NOT NULL
   );
   CREATE INDEX messages_level ON messages (kind, n, seq);`,
];
const SCHEMA_VERSION = MIGRATIONS.length;

/** Samples merged per roll-up. */
const ROLLUP_BATCH = 10;
/** Row and index overhead counted per message. */
const ROW_OVERHEAD = 64;
const WARN_EVERY_MS = 60_000;

export type SpooledMessage = TelemetryMessage | EventMessage;

interface SpoolLimits {
  maxEntries: number;
  maxBytes: number;
}

const errorCode = (e: unknown) => (e as { code?: string }).code ?? (e as Error).message;
const isDamage = (e: unknown) => /^SQLITE_(CORRUPT|NOTADB)/.test((e as { code?: string }).code ?? '');

function prepare(file: string): Database.Database {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Telemetry names stores, paths and receipts.
  privateDbFile(file);
  // A locked file (someone's sqlite3 shell) must not stall the event loop.
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db, APPLICATION_ID, MIGRATIONS);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

interface Row {
  seq: number;
  body: string;
}

class Store {
  readonly db: Database.Database;
  entries: number;
  bytes: number;
  readonly stmt;

  constructor(db: Database.Database) {
    this.db = db;
    this.stmt = {
      insert: db.prepare(`INSERT INTO messages (kind, ts, n, body, bytes) VALUES (@kind, @ts, @n, @body, @bytes)`),
      totals: db.prepare(`SELECT count(*) AS entries, COALESCE(SUM(bytes), 0) AS bytes FROM messages`),
      oldest: db.prepare(`SELECT seq, body FROM messages ORDER BY seq LIMIT ?`),
      // The finest level with enough samples to merge a batch, else the finest with two.
      level: db.prepare(`SELECT n FROM messages WHERE kind = 'telemetry' GROUP BY n HAVING count(*) >= ? ORDER BY n LIMIT 1`),
      atLevel: db.prepare(`SELECT seq, body FROM messages WHERE kind = 'telemetry' AND n = ? ORDER BY seq LIMIT ?`),
      oldestTelemetry: db.prepare(`SELECT seq, body FROM messages WHERE kind = 'telemetry' ORDER BY seq LIMIT ?`),
      replace: db.prepare(`UPDATE messages SET n = @n, body = @body, bytes = @bytes WHERE seq = @seq`),
      sizeOf: db.prepare(`SELECT bytes FROM messages WHERE seq = ?`),
      remove: db.prepare(`DELETE FROM messages WHERE seq = ? RETURNING bytes`),
    };
    const t = this.stmt.totals.get() as { entries: number; bytes: number };
    this.entries = t.entries;
    this.bytes = t.bytes;
  }

  delete(seq: number): void {
    const gone = this.stmt.remove.get(seq) as { bytes: number } | undefined;
    if (!gone) return;
    this.entries--;
    this.bytes -= gone.bytes;
  }
}

export class Spool {
  readonly #file: string;
  readonly #limits: () => SpoolLimits;
  readonly #logger: Logger;
  #store: Store | undefined;
  #warnedAt = -Infinity;
  /** Messages dropped (a failing disk, events past the bound) since the last warning. */
  #dropped = 0;

  private constructor(file: string, limits: () => SpoolLimits, logger: Logger) {
    this.#file = file;
    this.#limits = limits;
    this.#logger = logger;
  }

  /**
   * Opens (or creates) the spool. A foreign, damaged or newer file is moved
   * aside and a new one started. Never throws: without a usable file the
   * messages taken while the hub is away are dropped, and the gateway runs on.
   */
  static open(file: string, limits: () => SpoolLimits, logger: Logger): Spool {
    const spool = new Spool(file, limits, logger);
    spool.#open();
    return spool;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.#store?.entries ?? 0, bytes: this.#store?.bytes ?? 0 };
  }

  /** Keeps a message until the hub can take it; rolls up or drops the oldest to stay within the limits. Never throws. */
  append(message: SpooledMessage): void {
    const s = this.#store;
    if (!s) return this.#drop(1, 'no spool file');
    const counted = { entries: s.entries, bytes: s.bytes };
    try {
      s.db.transaction(() => {
        const body = JSON.stringify(message);
        const bytes = body.length + ROW_OVERHEAD;
        s.stmt.insert.run({ kind: message.type, ts: message.ts, n: message.type === 'telemetry' ? (message.rolledUp ?? 1) : 1, body, bytes });
        s.entries++;
        s.bytes += bytes;
        this.#bound(s);
      })();
    } catch (e) {
      // Rolled back: so are the counts.
      Object.assign(s, counted);
      this.#failed(e, 'write');
      this.#drop(1, errorCode(e));
    }
  }

  /** Removes and returns up to `limit` of the oldest messages. */
  take(limit: number): SpooledMessage[] {
    const s = this.#store;
    if (!s || s.entries === 0) return [];
    const counted = { entries: s.entries, bytes: s.bytes };
    try {
      return s.db.transaction(() => {
        const rows = s.stmt.oldest.all(limit) as Row[];
        for (const r of rows) s.delete(r.seq);
        return rows.flatMap((r) => parseRow(r));
      })();
    } catch (e) {
      Object.assign(s, counted);
      this.#failed(e, 'read');
      return [];
    }
  }

  close(): void {
    this.#store?.db.close();
    this.#store = undefined;
  }

  #open(): void {
    try {
      const problem = sqliteFileProblem(this.#file, APPLICATION_ID, SCHEMA_VERSION);
      if (problem) this.#setAside(disposableProblem(problem, 'spool'));
      this.#store = new Store(prepare(this.#file));
    } catch (e) {
      this.#logger.error({ file: this.#file, err: e }, 'fleet spool unavailable: telemetry taken while the hub is unreachable will be dropped');
    }
  }

  #setAside(reason: string): void {
    const movedTo = moveAside(this.#file);
    this.#logger.warn({ file: this.#file, movedTo, reason }, 'fleet spool file unusable: moved aside, starting an empty spool');
  }

  /** Within a transaction: merges the finest telemetry, then drops the oldest events, until the limits hold. */
  #bound(s: Store): void {
    const { maxEntries, maxBytes } = this.#limits();
    while (s.entries > maxEntries || s.bytes > maxBytes) {
      const level = (s.stmt.level.get(ROLLUP_BATCH) ?? s.stmt.level.get(2)) as { n: number } | undefined;
      const rows = (level ? s.stmt.atLevel.all(level.n, ROLLUP_BATCH) : s.stmt.oldestTelemetry.all(ROLLUP_BATCH)) as Row[];
      if (rows.length >= 2) {
        this.#merge(s, rows);
        continue;
      }
      // Nothing left to merge: the oldest message goes, whatever it is.
      const oldest = s.stmt.oldest.get(1) as Row | undefined;
      if (!oldest) return;
      s.delete(oldest.seq);
      this.#drop(1, 'spool full');
    }
  }

  #merge(s: Store, rows: Row[]): void {
    const messages = rows.flatMap((r) => parseRow(r)).filter((m): m is TelemetryMessage => m.type === 'telemetry');
    const [first, ...rest] = rows;
    for (const r of rest) s.delete(r.seq);
    if (messages.length === 0) return s.delete(first!.seq);
    const merged = rollUp(messages);
    const body = JSON.stringify(merged);
    const bytes = body.length + ROW_OVERHEAD;
    const before = (s.stmt.sizeOf.get(first!.seq) as { bytes: number }).bytes;
    s.stmt.replace.run({ seq: first!.seq, n: merged.rolledUp ?? 1, body, bytes });
    s.bytes += bytes - before;
  }

  #failed(e: unknown, what: 'read' | 'write'): void {
    if (isDamage(e)) {
      this.close();
      try {
        this.#setAside(`${what} failed (${errorCode(e)})`);
      } catch (moveError) {
        this.#logger.error({ file: this.#file, err: moveError }, 'fleet spool damaged and cannot be moved aside');
        return;
      }
      this.#open();
      return;
    }
    this.#warn(`fleet spool ${what} failed`, { err: e });
  }

  #drop(count: number, reason: string): void {
    this.#dropped += count;
    this.#warn('fleet spool dropped messages', { reason });
  }

  /** A full disk fails every write: one warning a minute says so without flooding the log. */
  #warn(message: string, why: { err: unknown } | { reason: string }): void {
    const now = Date.now();
    if (now - this.#warnedAt < WARN_EVERY_MS) return;
    this.#warnedAt = now;
    this.#logger.warn({ file: this.#file, ...why, dropped: this.#dropped }, message);
    this.#dropped = 0;
  }
}

/** A row that no longer parses (a damaged page) is skipped, never sent. */
function parseRow(r: Row): SpooledMessage[] {
  try {
    return [JSON.parse(r.body) as SpooledMessage];
  } catch {
    return [];
  }
}
