// A journal file opened by the journal tools (verify, export, import) rather
// than by a gateway: only when no gateway has it open, and what a gateway
// would make of it at open is read the same way here.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { APPLICATION_ID, INTERRUPTED_ATTEMPT, SCHEMA_VERSION } from './journal-schema.js';
import type { ExportEntry, ExportState } from './journal-export-format.js';

/** A journal the tools cannot use: held by a gateway, missing, foreign, newer or unreadable. */
export class JournalFileError extends Error {}

function code(e: unknown): string {
  return (e as { code?: string }).code ?? (e as Error).message;
}

/**
 * Opens a journal for the tools. SQLite's exclusive locking mode, set before
 * the first read, needs the file to itself: it cannot have it while any
 * connection (a running gateway's, in a container too) has the journal open,
 * and once it has it no gateway can open the file until this one is closed.
 * That lock is the journal's own (it has no lock file), so it is the test of
 * "stopped". `write`: the import writes; verify and export are query_only.
 */
export function openStoppedJournal(file: string, write = false): Database.Database {
  if (!existsSync(file)) throw new JournalFileError(`${file}: no such file`);
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch (e) {
    throw new JournalFileError(`${file}: cannot open (${code(e)})`);
  }
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    const appId = db.pragma('application_id', { simple: true }) as number;
    if (appId !== APPLICATION_ID) throw new JournalFileError(`${file}: not a storegw journal (application_id ${appId})`);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new JournalFileError(`${file}: journal schema version ${version} is newer than this storegw understands (${SCHEMA_VERSION}); use a newer storegw`);
    if (!write) db.pragma('query_only = 1');
    return db;
  } catch (e) {
    db.close();
    if (e instanceof JournalFileError) throw e;
    if (code(e) === 'SQLITE_BUSY')
      throw new JournalFileError(`${file} is open in a running gateway (SQLite lock held): stop the gateway first, or export it online with --admin URL`);
    throw new JournalFileError(`${file}: ${code(e) === 'SQLITE_NOTADB' ? 'not a database (foreign or corrupt file)' : `cannot read (${code(e)})`}`);
  }
}

export interface JournalReport {
  file: string;
  schemaVersion: number;
  /** SQLite's integrity_check: ['ok'], or what it found. */
  integrity: string[];
  counts: Record<'pending' | 'unknown' | 'dead' | 'delivered', number>;
  /** Pending entries with an attempt begun and never settled: unknown when a gateway (or an export) opens them. */
  interrupted: number;
}

/** Columns later migrations added; a journal of an older schema reads them as NULL. */
const LATER_COLUMNS = ['settled_by', 'settled_at', 'attempt_started_at'];

const hasColumn = (db: Database.Database, name: string) => (db.pragma('table_info(entries)') as { name: string }[]).some((c) => c.name === name);

function columns(db: Database.Database): string {
  const base =
    'receipt, idem_key, route, class, priority, ordering_key, method, target, headers, body, state, attempts, created_at, updated_at, next_attempt_at, last_error, upstream_status, response_headers, response_body';
  return [base, ...LATER_COLUMNS.map((c) => (hasColumn(db, c) ? c : `NULL AS ${c}`))].join(', ');
}

export function journalReport(db: Database.Database, file: string): JournalReport {
  const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
  const counts = { pending: 0, unknown: 0, dead: 0, delivered: 0 };
  for (const r of db.prepare('SELECT state, count(*) AS n FROM entries GROUP BY state').all() as { state: keyof typeof counts; n: number }[]) counts[r.state] = r.n;
  const begun = hasColumn(db, 'attempt_started_at')
    ? (db.prepare(`SELECT count(*) AS n FROM entries WHERE state = 'pending' AND attempt_started_at IS NOT NULL`).get() as { n: number }).n
    : 0;
  return { file, schemaVersion: db.pragma('user_version', { simple: true }) as number, integrity, counts, interrupted: begun };
}

interface Row {
  receipt: string;
  idem_key: string;
  route: string;
  class: string;
  priority: number;
  ordering_key: string | null;
  method: string;
  target: string;
  headers: string;
  body: Buffer | null;
  state: ExportState;
  attempts: number;
  created_at: number;
  updated_at: number;
  next_attempt_at: number;
  last_error: string | null;
  upstream_status: number | null;
  response_headers: string | null;
  response_body: Buffer | null;
  settled_by: string | null;
  settled_at: number | null;
  attempt_started_at: number | null;
}

/**
 * The entries still owed (pending, unknown, dead) in journal order, as export
 * lines. A pending entry whose attempt was begun and never settled comes out
 * unknown, as the journal's open makes it: it may already be at the ERP.
 */
export function* owedEntries(db: Database.Database): Generator<ExportEntry> {
  const rows = db.prepare(`SELECT ${columns(db)} FROM entries WHERE state IN ('pending', 'unknown', 'dead') ORDER BY seq`).iterate() as IterableIterator<Row>;
  for (const r of rows) {
    const interrupted = r.state === 'pending' && r.attempt_started_at !== null;
    yield {
      kind: 'entry',
      receipt: r.receipt,
      idemKey: r.idem_key,
      route: r.route,
      cls: r.class,
      priority: r.priority,
      orderingKey: r.ordering_key,
      method: r.method,
      target: r.target,
      headers: JSON.parse(r.headers) as ExportEntry['headers'],
      body: r.body === null ? null : r.body.toString('base64'),
      state: interrupted ? 'unknown' : r.state,
      attempts: r.attempts + (interrupted ? 1 : 0),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      nextAttemptAt: r.next_attempt_at,
      lastError: interrupted ? INTERRUPTED_ATTEMPT : r.last_error,
      upstreamStatus: r.upstream_status,
      responseHeaders: r.response_headers === null ? null : (JSON.parse(r.response_headers) as ExportEntry['headers']),
      responseBody: r.response_body === null ? null : r.response_body.toString('base64'),
      settledBy: r.settled_by,
      settledAt: r.settled_at,
    };
  }
}
