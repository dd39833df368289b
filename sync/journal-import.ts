// Reads a journal export back: checks it (format, every line, the count and
// the SHA-256 of its end line), and imports it into a journal in one
// transaction, so a bad file imports nothing. Keys are kept, and so is the
// order (entries go in as the export lists them, which is journal order, and
// take sequence numbers after what the journal holds). An entry whose key the
// journal already has is skipped and reported: one key never gets a second
// entry, so importing the same export twice adds nothing. From a backup, the
// pending writes of routes whose ERP does not dedupe may be held as unknown.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { entryBytes, JournalStore } from './journal-store.js';
import { carryOverShift, journalNow, systemClock, type JournalClock } from './journal-clock.js';
import { openStoppedJournal } from './journal-file.js';
import { ExportFileError, parseHeader, parseLine, type ExportEntry, type ExportHeader, type ExportState } from './journal-export-format.js';

export interface ExportCheck {
  header: ExportHeader;
  entries: number;
  states: Record<ExportState, number>;
  sha256: string;
}

/** The file's lines as bytes, each with its newline; a last line without one is given as it is. */
async function* lines(file: string): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0);
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10)) {
      yield buf.subarray(0, nl + 1);
      buf = buf.subarray(nl + 1);
    }
    rest = Buffer.from(buf);
  }
  if (rest.length > 0) yield rest;
}

/**
 * Checks an export from its first byte to its last, handing each entry to
 * `onEntry` as it is read (the import inserts it; the caller's transaction
 * keeps it only if the whole file then checks out). Throws ExportFileError.
 */
export async function checkExport(file: string, onEntry: (e: ExportEntry) => void = () => undefined): Promise<ExportCheck> {
  if (!existsSync(file)) throw new ExportFileError(`${file}: no such file`);
  const hash = createHash('sha256');
  const states: Record<ExportState, number> = { pending: 0, unknown: 0, dead: 0 };
  let header: ExportHeader | undefined;
  let ended: { entries: number; sha256: string } | undefined;
  let at = 0;
  let count = 0;
  for await (const raw of lines(file)) {
    at++;
    if (ended) throw new ExportFileError(`${file}: line ${at}: data after the end line`);
    const text = raw.toString('utf8').replace(/\n$/, '');
    if (!header) {
      header = parseHeader(text);
      hash.update(raw);
      continue;
    }
    const line = parseLine(text, at);
    if (line.kind === 'end') {
      ended = line;
      continue;
    }
    hash.update(raw);
    states[line.state]++;
    count++;
    onEntry(line);
  }
  if (!header) throw new ExportFileError(`${file}: empty`);
  if (!ended) throw new ExportFileError(`${file}: no end line: the file is cut off (an interrupted copy?)`);
  const sha256 = hash.digest('hex');
  if (sha256 !== ended.sha256) throw new ExportFileError(`${file}: checksum mismatch (sha256 ${sha256}, the file says ${ended.sha256}): the file was changed or damaged`);
  if (count !== ended.entries) throw new ExportFileError(`${file}: ${count} entries, the end line says ${ended.entries}`);
  return { header, entries: count, states, sha256 };
}

export interface ImportSummary {
  added: Record<ExportState, number>;
  /** Entries whose key the journal already held (in any state): not added. */
  skipped: { receipt: string; idemKey: string; state: string }[];
  sha256: string;
}

/** Why an entry comes in unknown rather than pending (see ImportOptions.hold). */
export const HELD_FROM_BACKUP = 'imported from a backup: it may have been delivered after the copy was taken, to an ERP that does not dedupe';

export interface ImportOptions {
  /**
   * Routes whose pending entries come in unknown. A journal taken from a
   * backup is a past state: what was pending then may have been delivered
   * since, and at an ERP that does not dedupe, sending it again would apply it twice.
   */
  hold?: (route: string) => boolean;
  /** The machine's clocks (journal-clock.ts) by default. */
  clock?: JournalClock;
}

interface Inserter {
  put(e: ExportEntry, skipped: ImportSummary['skipped']): ExportEntry | undefined;
  /**
   * Puts the imported entries' times on the journal's clock. The export has
   * only the other gateway's wall-clock times: they are carried over as a
   * journal is to a new boot, the latest of them becoming now (the time the
   * entries spent in no running gateway is not counted, and that wall clock
   * is only compared with itself).
   */
  carryOver(): void;
}

function inserter(db: Database.Database, o: { hold: (route: string) => boolean; clock: JournalClock }): Inserter {
  // The store's open (importExport) has just set the clock's offset for this boot.
  const { mono_offset } = db.prepare('SELECT mono_offset FROM clock').get() as { mono_offset: number };
  const now = journalNow(o.clock, mono_offset);
  const before = (db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM entries').get() as { seq: number }).seq;
  let last: number | undefined;
  const existing = db.prepare('SELECT receipt, idem_key AS idemKey, state FROM entries WHERE idem_key = ? OR receipt = ?');
  const insert = db.prepare(
    `INSERT INTO entries (receipt, idem_key, route, class, priority, ordering_key, method, target, headers, body, bytes, state, attempts,
                          next_attempt_at, created_at, updated_at, last_error, upstream_status, response_headers, response_body, settled_by, settled_at,
                          next_attempt_mono, created_mono, updated_mono)
     VALUES (@receipt, @idemKey, @route, @cls, @priority, @orderingKey, @method, @target, @headers, @body, @bytes, @state, @attempts,
             @nextAttemptAt, @createdAt, @updatedAt, @lastError, @upstreamStatus, @responseHeaders, @responseBody, @settledBy, @settledAt,
             @nextAttemptMono, @createdAt, @updatedAt)`,
  );
  // Entries are inserted after every entry the journal held: their sequence numbers are above `before`.
  const shift = db.prepare('UPDATE entries SET created_mono = created_at + @shift, updated_mono = updated_at + @shift WHERE seq > @before');
  const put: Inserter['put'] = (line, skipped) => {
    const have = existing.all(line.idemKey, line.receipt) as { receipt: string; idemKey: string; state: string }[];
    const same = have.find((h) => h.idemKey === line.idemKey);
    if (same) {
      skipped.push(same);
      return undefined;
    }
    const e: ExportEntry = line.state === 'pending' && o.hold(line.route) ? { ...line, state: 'unknown', lastError: HELD_FROM_BACKUP } : line;
    if (have.length > 0) throw new ExportFileError(`receipt ${e.receipt} is in the journal under another key: this export does not belong with this journal`);
    const body = e.body === null ? null : Buffer.from(e.body, 'base64');
    insert.run({
      ...e,
      body,
      headers: JSON.stringify(e.headers),
      bytes: entryBytes({ body, headers: e.headers, target: e.target, idemKey: e.idemKey }),
      // Due at once on this journal: a wait was the old gateway's (its link, its backoff); a dead letter keeps its own (shown only).
      nextAttemptAt: e.state === 'dead' ? e.nextAttemptAt : now.wall,
      nextAttemptMono: now.mono,
      responseHeaders: e.responseHeaders === null ? null : JSON.stringify(e.responseHeaders),
      responseBody: e.responseBody === null ? null : Buffer.from(e.responseBody, 'base64'),
    });
    last = Math.max(last ?? -Infinity, e.updatedAt, e.createdAt);
    return e;
  };
  return {
    put,
    carryOver: () => {
      if (last !== undefined) shift.run({ shift: carryOverShift(last, now.mono), before });
    },
  };
}

/**
 * Imports an export into a journal (created when missing) of a stopped
 * gateway: all of it, or, when anything is wrong with the file, nothing.
 */
export async function importExport(exportFile: string, journalFile: string, options: ImportOptions = {}): Promise<ImportSummary> {
  // Refuses a journal a gateway has open before anything touches it; then
  // creates or migrates it as a gateway's open does, and takes it for the import.
  if (existsSync(journalFile)) openStoppedJournal(journalFile).close();
  const clock = options.clock ?? systemClock();
  JournalStore.open(journalFile, Number.MAX_SAFE_INTEGER, clock).close();
  const db = openStoppedJournal(journalFile, true);
  const added: Record<ExportState, number> = { pending: 0, unknown: 0, dead: 0 };
  const skipped: ImportSummary['skipped'] = [];
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      const entries = inserter(db, { hold: options.hold ?? (() => false), clock });
      const check = await checkExport(exportFile, (line) => {
        const e = entries.put(line, skipped);
        if (e) added[e.state]++;
      });
      entries.carryOver();
      db.exec('COMMIT');
      return { added, skipped, sha256: check.sha256 };
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  } finally {
    db.close();
  }
}
