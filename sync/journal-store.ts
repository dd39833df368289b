// The journal database: every buffered request from the moment it is
// acknowledged until it is delivered (and its answer kept for idempotent
// retries) or given up as a dead letter. Synchronous (better-sqlite3); the
// gateway runs it on a worker thread (journal-worker.ts) so that commits and
// their fsyncs never stall the proxy's event loop.
import Database from 'better-sqlite3';
import type { ClassName } from '../edge-config/schema.js';
import { backupDatabase } from './journal-backup.js';
import { journalNow, journalOffset, systemClock, type Instant, type JournalClock } from './journal-clock.js';
import { APPLICATION_ID, INTERRUPTED_ATTEMPT, MIGRATIONS, SCHEMA_VERSION } from './journal-schema.js';
import { privateDbFile } from '../src/util/private-db-file.js';
import { migrate, sqliteFileProblem, type SqliteFileProblem } from '../src/util/sqlite-file.js';

/**
 * pending: waiting for delivery. delivered: the ERP answered (the answer is
 * kept for the client's retries). dead: given up. unknown: an attempt may
 * have reached an ERP that does not dedupe, and its answer was lost; it is
 * never replayed blindly: a read-back check or an operator settles it.
 */
export type EntryState = 'pending' | 'delivered' | 'dead' | 'unknown';
export const ENTRY_STATES: readonly EntryState[] = ['pending', 'delivered', 'dead', 'unknown'];
/** How an unknown entry is settled: it did not take effect (send it again) or it did. */
export type Settlement = 'retry' | 'delivered';
export type Headers = Record<string, string | string[]>;

export interface NewEntry {
  receipt: string;
  idemKey: string;
  route: string;
  cls: ClassName;
  priority: number;
  /** Entries with the same key are delivered in order; null for none. */
  orderingKey: string | null;
  method: string;
  target: string;
  headers: Headers;
  body: Buffer | null;
}

export interface EntryView {
  seq: number;
  receipt: string;
  idemKey: string;
  route: string;
  cls: ClassName;
  orderingKey: string | null;
  state: EntryState;
  attempts: number;
  /** Wall-clock times (epoch ms), for people: waits and ages are judged on the journal's monotonic clock (journal-clock.ts). */
  createdAt: number;
  updatedAt: number;
  nextAttemptAt: number;
  lastError: string | null;
  upstreamStatus: number | null;
  /** Who settled an unknown entry (an operator, the read-back check), and when (epoch ms). */
  settledBy: string | null;
  settledAt: number | null;
}

export interface DueEntry extends EntryView {
  method: string;
  target: string;
  headers: Headers;
  body: Buffer | null;
}

export interface StoredResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

export type AppendResult =
  | { status: 'stored'; entry: EntryView; /** an earlier entry of the same ordering key is still pending */ queuedBehind: boolean }
  | { status: 'existing'; entry: EntryView; response: StoredResponse | undefined }
  | { status: 'full'; reason: string }
  | { status: 'failed'; reason: string };

/** A change to the journal. The gateway groups these: one transaction, one fsync for all that wait. */
export type WriteOp =
  | { op: 'append'; entry: NewEntry }
  | { op: 'delivered'; receipt: string; response: StoredResponse }
  | { op: 'retry'; receipt: string; delayMs: number; error: string; status: number | null }
  | { op: 'dead'; receipt: string; reason: string; attempted: boolean; response?: StoredResponse | undefined }
  | { op: 'unknown'; receipt: string; reason: string; status: number | null; checkAfterMs: number }
  | { op: 'settle'; receipt: string; as: Settlement; by: string }
  | { op: 'checkLater'; receipt: string; afterMs: number; error: string }
  | { op: 'begin'; receipt: string };

/**
 * An append's result, or whether a state change applied (false: the entry was
 * not in the state it needs; null: the journal could not write at all, e.g. a
 * full disk, and nothing changed).
 */
export type WriteResult = AppendResult | boolean | null;
/** A state change's result: see WriteResult. */
export type StateChange = boolean | null;

export interface JournalStats {
  pending: number;
  dead: number;
  delivered: number;
  unknown: number;
  oldestAgeS: number;
  bytes: number;
  maxBytes: number;
}

export class JournalOpenError extends Error {
  // A field, not a parameter property: the journal worker's modules run as Node strips their types (src/util/worker-module.ts).
  readonly file: string;

  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.file = file;
    this.name = 'JournalOpenError';
  }
}

interface Row {
  seq: number;
  receipt: string;
  idem_key: string;
  route: string;
  class: ClassName;
  ordering_key: string | null;
  state: EntryState;
  attempts: number;
  created_at: number;
  updated_at: number;
  next_attempt_at: number;
  last_error: string | null;
  upstream_status: number | null;
  settled_by: string | null;
  settled_at: number | null;
}

interface FullRow extends Row {
  method: string;
  target: string;
  headers: string;
  body: Buffer | null;
}

const VIEW_COLUMNS =
  'seq, receipt, idem_key, route, class, ordering_key, state, attempts, created_at, updated_at, next_attempt_at, last_error, upstream_status, settled_by, settled_at';

function view(r: Row): EntryView {
  return {
    seq: r.seq,
    receipt: r.receipt,
    idemKey: r.idem_key,
    route: r.route,
    cls: r.class,
    orderingKey: r.ordering_key,
    state: r.state,
    attempts: r.attempts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    upstreamStatus: r.upstream_status,
    settledBy: r.settled_by,
    settledAt: r.settled_at,
  };
}

/** What a client re-sending a write that was settled as delivered is answered: the ERP's own answer was never seen. */
export function settledAnswer(by: string): StoredResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'x-gateway-settled-by': by },
    body: Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: null, result: true })),
  };
}

/** How many of the oldest pending entries the replay scheduler looks at per pick; keeps each pick O(window). */
const DUE_WINDOW = 1000;

/** What an entry counts against buffer.maxBytes. */
export function entryBytes(e: Pick<NewEntry, 'body' | 'headers' | 'target' | 'idemKey'>): number {
  return (e.body?.length ?? 0) + JSON.stringify(e.headers).length + e.target.length + e.idemKey.length + 200;
}


function journalProblem(p: SqliteFileProblem): string {
  switch (p.kind) {
    case 'foreign':
      return 'is an SQLite database of another application, not a storegw journal; refusing to touch it';
    case 'newer':
      return `journal schema version ${p.version} is newer than this storegw understands (${SCHEMA_VERSION}); upgrade storegw`;
    case 'damaged':
      return `${p.detail}; the file is kept as it is — restore it or move it aside`;
  }
}

/**
 * Takes the journal's clock onto this boot (journal-clock.ts): the offset
 * that gives its time, recorded with the boot it is for, and the time it is
 * seen in use at now.
 */
function openClock(db: Database.Database, clock: JournalClock): number {
  return db.transaction(() => {
    const row = db.prepare('SELECT boot_id, mono_offset, seen_mono FROM clock').get() as { boot_id: string; mono_offset: number; seen_mono: number };
    const { mono } = clock.now();
    const offset = journalOffset({ bootId: row.boot_id, offset: row.mono_offset, seen: row.seen_mono }, clock.bootId, mono);
    db.prepare('UPDATE clock SET boot_id = ?, mono_offset = ?, seen_mono = ?').run(clock.bootId, offset, mono + offset);
    return offset;
  })();
}

export class JournalStore {
  readonly #db: Database.Database;
  readonly #maxBytes: number;
  readonly #clock: JournalClock;
  /** The journal's time minus this boot's monotonic clock (openClock). */
  readonly #offset: number;
  #bytes: number;
  /** Kept in memory: counting a million rows for every status call would cost more than the calls. */
  readonly #counts: Record<EntryState, number> = { pending: 0, dead: 0, delivered: 0, unknown: 0 };
  readonly #stmt;
  /** What this open made unknown: attempts the last process left under way. */
  readonly #interrupted: EntryView[];

  private constructor(db: Database.Database, maxBytes: number, clock: JournalClock) {
    this.#db = db;
    this.#maxBytes = maxBytes;
    this.#clock = clock;
    this.#offset = openClock(db, clock);
    const d = db;
    // Every time is written twice: @wall for people (the *_at columns), @mono on
    // the journal's clock (the *_mono columns), which every wait and age is judged by.
    this.#stmt = {
      insert: d.prepare(
        `INSERT INTO entries (receipt, idem_key, route, class, priority, ordering_key, method, target, headers, body, bytes, state,
                              next_attempt_at, created_at, updated_at, next_attempt_mono, created_mono, updated_mono)
         VALUES (@receipt, @idemKey, @route, @cls, @priority, @orderingKey, @method, @target, @headers, @body, @bytes, 'pending',
                 @wall, @wall, @wall, @mono, @mono, @mono)`,
      ),
      byKey: d.prepare(`SELECT ${VIEW_COLUMNS}, response_headers, response_body FROM entries WHERE idem_key = ?`),
      byReceipt: d.prepare(`SELECT ${VIEW_COLUMNS} FROM entries WHERE receipt = ?`),
      earlierInLane: d.prepare(`SELECT 1 FROM entries WHERE state = 'pending' AND ordering_key = ? AND seq < ? LIMIT 1`),
      due: d.prepare(
        `SELECT ${VIEW_COLUMNS}, method, target, headers, body FROM
           (SELECT * FROM entries WHERE state = 'pending' ORDER BY priority, seq LIMIT ${DUE_WINDOW}) e
         WHERE e.next_attempt_mono <= @mono
           AND (e.ordering_key IS NULL OR NOT EXISTS
                 (SELECT 1 FROM entries p WHERE p.state = 'pending' AND p.ordering_key = e.ordering_key AND p.seq < e.seq))
         ORDER BY e.priority, e.seq LIMIT @limit`,
      ),
      nextDueAt: d.prepare(
        `SELECT MIN(next_attempt_mono) AS at FROM (SELECT next_attempt_mono FROM entries WHERE state = 'pending' ORDER BY priority, seq LIMIT ${DUE_WINDOW})`,
      ),
      delivered: d.prepare(
        `UPDATE entries SET state = 'delivered', attempts = attempts + 1, upstream_status = @status, response_headers = @headers, response_body = @body,
           body = NULL, last_error = NULL, attempt_started_at = NULL, updated_at = @wall, updated_mono = @mono WHERE receipt = @receipt AND state = 'pending'`,
      ),
      retry: d.prepare(
        `UPDATE entries SET attempts = attempts + 1, next_attempt_at = @wall + @delayMs, next_attempt_mono = @mono + @delayMs, last_error = @error,
           upstream_status = @status, attempt_started_at = NULL, updated_at = @wall, updated_mono = @mono
         WHERE receipt = @receipt AND state = 'pending'`,
      ),
      dead: d.prepare(
        `UPDATE entries SET state = 'dead', attempts = attempts + @attempted, last_error = @error, upstream_status = COALESCE(@status, upstream_status),
           response_headers = @headers, response_body = @body, attempt_started_at = NULL, updated_at = @wall, updated_mono = @mono
         WHERE receipt = @receipt AND state = 'pending'`,
      ),
      // A mark only (IS NOT NULL is all that is read of it): the wall clock will do.
      begin: d.prepare(`UPDATE entries SET attempt_started_at = @wall WHERE receipt = @receipt AND state = 'pending'`),
      revive: d.prepare(
        `UPDATE entries SET state = 'pending', attempts = 0, next_attempt_at = @wall, next_attempt_mono = @mono, last_error = NULL, updated_at = @wall, updated_mono = @mono
         WHERE receipt = @receipt AND state = 'dead'`,
      ),
      unknown: d.prepare(
        `UPDATE entries SET state = 'unknown', attempts = attempts + 1, last_error = @error, upstream_status = @status,
           next_attempt_at = @wall + @checkAfterMs, next_attempt_mono = @mono + @checkAfterMs, attempt_started_at = NULL, updated_at = @wall, updated_mono = @mono
         WHERE receipt = @receipt AND state = 'pending'`,
      ),
      settleRetry: d.prepare(
        `UPDATE entries SET state = 'pending', next_attempt_at = @wall, next_attempt_mono = @mono, settled_by = @by, settled_at = @wall, updated_at = @wall, updated_mono = @mono
         WHERE receipt = @receipt AND state = 'unknown'`,
      ),
      settleDelivered: d.prepare(
        `UPDATE entries SET state = 'delivered', settled_by = @by, settled_at = @wall, upstream_status = @status, response_headers = @headers, response_body = @body,
           body = NULL, updated_at = @wall, updated_mono = @mono WHERE receipt = @receipt AND state = 'unknown'`,
      ),
      checkLater: d.prepare(
        `UPDATE entries SET next_attempt_at = @wall + @afterMs, next_attempt_mono = @mono + @afterMs, last_error = @error, updated_at = @wall, updated_mono = @mono
         WHERE receipt = @receipt AND state = 'unknown'`,
      ),
      checksDue: d.prepare(
        `SELECT ${VIEW_COLUMNS}, method, target, headers, body FROM entries WHERE state = 'unknown' AND next_attempt_mono <= ? ORDER BY next_attempt_mono LIMIT 1000`,
      ),
      bytesOf: d.prepare(`SELECT bytes FROM entries WHERE receipt = ?`),
      discard: d.prepare(`DELETE FROM entries WHERE receipt = ? AND state = 'dead'`),
      list: d.prepare(`SELECT ${VIEW_COLUMNS} FROM entries WHERE state = @state AND seq > @after ORDER BY seq LIMIT @limit`),
      expiredCandidates: d.prepare(`SELECT receipt FROM entries WHERE state = 'pending' AND created_mono < ? ORDER BY created_mono LIMIT 1000`),
      purge: d.prepare(`DELETE FROM entries WHERE state = 'delivered' AND updated_mono < ?`),
      expedite: d.prepare(
        `UPDATE entries SET next_attempt_at = :wall, next_attempt_mono = :mono WHERE state = 'pending' AND next_attempt_mono > :mono AND upstream_status IS NULL`,
      ),
      seen: d.prepare(`UPDATE clock SET seen_mono = ?`),
      counts: d.prepare(`SELECT state, count(*) AS n FROM entries GROUP BY state`),
      oldest: d.prepare(`SELECT MIN(created_mono) AS at FROM entries WHERE state = 'pending'`),
      liveBytes: d.prepare(`SELECT COALESCE(SUM(bytes), 0) AS b FROM entries WHERE state != 'delivered'`),
    };
    this.#bytes = (this.#stmt.liveBytes.get() as { b: number }).b;
    // An attempt at an ERP that does not dedupe was under way when the process
    // died: it may have reached the ERP, so it is not sent again blindly.
    this.#interrupted = (
      d
        .prepare(
          `UPDATE entries SET state = 'unknown', attempts = attempts + 1, attempt_started_at = NULL, next_attempt_at = @wall, next_attempt_mono = @mono,
             updated_at = @wall, updated_mono = @mono, last_error = @reason
           WHERE state = 'pending' AND attempt_started_at IS NOT NULL RETURNING ${VIEW_COLUMNS}`,
        )
        .all({ ...this.#now(), reason: INTERRUPTED_ATTEMPT }) as Row[]
    )
      .map(view)
      .sort((a, b) => a.seq - b.seq);
    for (const r of this.#stmt.counts.all() as { state: EntryState; n: number }[]) this.#counts[r.state] = r.n;
  }

  /**
   * Opens (or creates) a journal file, its times on `clock` (the machine's by
   * default). Throws JournalOpenError for a foreign, newer, damaged or unreadable file.
   */
  /** The entries this open made unknown (an attempt at an ERP that does not dedupe was under way when the last process stopped): the fleet hears of each. */
  interruptedAtOpen(): EntryView[] {
    return this.#interrupted;
  }

  static open(file: string, maxBytes: number, clock: JournalClock = systemClock()): JournalStore {
    const problem = sqliteFileProblem(file, APPLICATION_ID, SCHEMA_VERSION);
    if (problem) throw new JournalOpenError(file, journalProblem(problem));
    let db: Database.Database;
    try {
      // The journal holds request headers (sessions, cookies).
      privateDbFile(file);
      db = new Database(file);
    } catch (e) {
      throw new JournalOpenError(file, `cannot open (${(e as { code?: string }).code ?? (e as Error).message})`);
    }
    try {
      db.pragma('journal_mode = WAL');
      // FULL: in WAL mode each commit is fsynced, so an acknowledged entry survives power loss.
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      migrate(db, APPLICATION_ID, MIGRATIONS);
      return new JournalStore(db, maxBytes, clock);
    } catch (e) {
      db.close();
      if (e instanceof JournalOpenError) throw e;
      throw new JournalOpenError(file, `cannot prepare the journal (${(e as Error).message})`);
    }
  }

  #now(): Instant {
    return journalNow(this.#clock, this.#offset);
  }

  /** Stores new entries in one transaction (one fsync). An entry whose idempotency key exists is not stored again. */
  appendBatch(entries: NewEntry[]): AppendResult[] {
    return this.write(entries.map((entry) => ({ op: 'append', entry }))) as AppendResult[];
  }

  /**
   * Applies writes in one transaction. When it fails (a full disk), none of it
   * is stored: appends answer full/failed, so nothing is acknowledged, and
   * state changes answer null, so their callers know the outcome is not recorded.
   */
  write(ops: WriteOp[]): WriteResult[] {
    const before = { bytes: this.#bytes, counts: { ...this.#counts } };
    const now = this.#now();
    let results: WriteResult[];
    try {
      results = this.#db.transaction(() => ops.map((o) => this.#apply(o, now)))();
    } catch (err) {
      this.#bytes = before.bytes;
      Object.assign(this.#counts, before.counts);
      const code = (err as { code?: string }).code;
      const failure: AppendResult =
        code === 'SQLITE_FULL' ? { status: 'full', reason: 'disk full' } : { status: 'failed', reason: `journal write failed (${code ?? (err as Error).message})` };
      return ops.map((o) => (o.op === 'append' ? failure : null));
    }
    return results;
  }

  #apply(o: WriteOp, now: Instant): WriteResult {
    switch (o.op) {
      case 'append':
        return this.#append(o.entry, now);
      case 'delivered':
        return this.#delivered(o.receipt, o.response, now);
      case 'retry':
        return this.#retry(o.receipt, o.delayMs, o.error, o.status, now);
      case 'dead':
        return this.#dead(o.receipt, o.reason, o.attempted, o.response, now);
      case 'unknown':
        return this.#changed(
          this.#stmt.unknown.run({ receipt: o.receipt, error: o.reason, status: o.status, checkAfterMs: o.checkAfterMs, ...now }).changes,
          'pending',
          'unknown',
        );
      case 'settle':
        return this.#settle(o.receipt, o.as, o.by, now);
      case 'checkLater':
        return this.#stmt.checkLater.run({ receipt: o.receipt, afterMs: o.afterMs, error: o.error, ...now }).changes > 0;
      case 'begin':
        return this.#stmt.begin.run({ receipt: o.receipt, ...now }).changes > 0;
    }
  }

  #append(e: NewEntry, now: Instant): AppendResult {
    const existing = this.#stmt.byKey.get(e.idemKey) as (Row & { response_headers: string | null; response_body: Buffer | null }) | undefined;
    if (existing) return { status: 'existing', entry: view(existing), response: storedResponse(existing) };
    const bytes = entryBytes(e);
    if (this.#bytes + bytes > this.#maxBytes) return { status: 'full', reason: `journal quota of ${this.#maxBytes} bytes reached` };
    const { lastInsertRowid } = this.#stmt.insert.run({ ...e, headers: JSON.stringify(e.headers), bytes, ...now });
    this.#bytes += bytes;
    this.#counts.pending++;
    const seq = Number(lastInsertRowid);
    const queuedBehind = e.orderingKey !== null && this.#stmt.earlierInLane.get(e.orderingKey, seq) !== undefined;
    return { status: 'stored', entry: view(this.#stmt.byReceipt.get(e.receipt) as Row), queuedBehind };
  }

  byReceipt(receipt: string): EntryView | undefined {
    const r = this.#stmt.byReceipt.get(receipt) as Row | undefined;
    return r && view(r);
  }

  /** The oldest due entries, critical first, only the head of each ordering key, skipping `exclude` (in flight). */
  due(limit: number, exclude: ReadonlySet<string>): DueEntry[] {
    const rows = this.#stmt.due.all({ mono: this.#now().mono, limit: limit + exclude.size }) as FullRow[];
    return rows
      .filter((r) => !exclude.has(r.receipt))
      .slice(0, limit)
      .map((r) => ({ ...view(r), method: r.method, target: r.target, headers: JSON.parse(r.headers) as Headers, body: r.body }));
  }

  /** In how many ms the next pending entry becomes due (0: it is), or undefined when nothing is pending. */
  nextDueInMs(): number | undefined {
    const at = (this.#stmt.nextDueAt.get() as { at: number | null }).at;
    return at === null ? undefined : Math.max(0, at - this.#now().mono);
  }

  markDelivered(receipt: string, response: StoredResponse): boolean {
    return this.#delivered(receipt, response, this.#now());
  }

  #delivered(receipt: string, response: StoredResponse, now: Instant): boolean {
    const bytes = this.#bytesOf(receipt);
    const changed = this.#stmt.delivered.run({ receipt, status: response.status, headers: JSON.stringify(response.headers), body: response.body, ...now }).changes > 0;
    if (changed) {
      this.#bytes -= bytes;
      this.#move('pending', 'delivered');
    }
    return changed;
  }

  /** Counts a failed attempt; the entry is due again in `delayMs`. */
  markRetry(receipt: string, delayMs: number, error: string, status: number | null): boolean {
    return this.#retry(receipt, delayMs, error, status, this.#now());
  }

  #retry(receipt: string, delayMs: number, error: string, status: number | null, now: Instant): boolean {
    return this.#stmt.retry.run({ receipt, delayMs, error, status, ...now }).changes > 0;
  }

  /** `attempted`: whether this follows a delivery attempt (counted) or not (expiry). */
  markDead(receipt: string, reason: string, attempted: boolean, response?: StoredResponse): boolean {
    return this.#dead(receipt, reason, attempted, response, this.#now());
  }

  #dead(receipt: string, reason: string, attempted: boolean, response: StoredResponse | undefined, now: Instant): boolean {
    const changed =
      this.#stmt.dead.run({
        receipt,
        error: reason,
        attempted: attempted ? 1 : 0,
        status: response?.status ?? null,
        headers: response ? JSON.stringify(response.headers) : null,
        body: response?.body ?? null,
        ...now,
      }).changes > 0;
    if (changed) this.#move('pending', 'dead');
    return changed;
  }

  /** Settles an unknown entry: back to pending (it did not take effect) or delivered (it did). False when it was not unknown. */
  settle(receipt: string, as: Settlement, by: string): boolean {
    return this.#settle(receipt, as, by, this.#now());
  }

  #settle(receipt: string, as: Settlement, by: string, now: Instant): boolean {
    if (as === 'retry') return this.#changed(this.#stmt.settleRetry.run({ receipt, by, ...now }).changes, 'unknown', 'pending');
    const bytes = this.#bytesOf(receipt);
    const answer = settledAnswer(by);
    const changed = this.#changed(
      this.#stmt.settleDelivered.run({ receipt, by, status: answer.status, headers: JSON.stringify(answer.headers), body: answer.body, ...now }).changes,
      'unknown',
      'delivered',
    );
    if (changed) this.#bytes -= bytes;
    return changed;
  }

  /** Unknown entries whose read-back is due, of the routes that have one, skipping `exclude` (being checked). */
  checksDue(routes: readonly string[], limit: number, exclude: ReadonlySet<string>): DueEntry[] {
    const wanted = new Set(routes);
    return (this.#stmt.checksDue.all(this.#now().mono) as FullRow[])
      .filter((r) => wanted.has(r.route) && !exclude.has(r.receipt))
      .slice(0, limit)
      .map((r) => ({ ...view(r), method: r.method, target: r.target, headers: JSON.parse(r.headers) as Headers, body: r.body }));
  }

  /** Puts a dead letter back in the queue, as if new. */
  retryDead(receipt: string): boolean {
    const changed = this.#stmt.revive.run({ receipt, ...this.#now() }).changes > 0;
    if (changed) this.#move('dead', 'pending');
    return changed;
  }

  /** Deletes a dead letter (an operator's decision). Pending or delivered entries are never discarded. */
  discard(receipt: string): boolean {
    const bytes = this.#bytesOf(receipt);
    const changed = this.#stmt.discard.run(receipt).changes > 0;
    if (changed) {
      this.#bytes -= bytes;
      this.#counts.dead--;
    }
    return changed;
  }

  list(state: EntryState, limit: number, afterSeq = 0): EntryView[] {
    return (this.#stmt.list.all({ state, limit, after: afterSeq }) as Row[]).map(view);
  }

  /**
   * Moves entries pending longer than maxAgeMs (on the journal's clock) to
   * dead, with the reason; returns their receipts. Housekeeping calls it once
   * a minute, which makes it the journal's heartbeat too: the time it is seen
   * in use at, from which its clock goes on after a reboot.
   */
  expire(maxAgeMs: number): string[] {
    const now = this.#now();
    const receipts = (this.#stmt.expiredCandidates.all(now.mono - maxAgeMs) as { receipt: string }[]).map((r) => r.receipt);
    this.#db.transaction(() => {
      for (const r of receipts) this.#dead(r, `expired: pending longer than ${Math.round(maxAgeMs / 3_600_000)} h`, false, undefined, now);
      this.#stmt.seen.run(now.mono);
    })();
    return receipts;
  }

  /**
   * Makes due now the pending entries backing off because the ERP could not
   * be reached (no answer at all): when a link comes back, the reason for
   * their wait is gone. Waits the ERP itself asked for (5xx, 429,
   * Retry-After) are kept. Returns how many.
   */
  expedite(): number {
    return this.#stmt.expedite.run(this.#now()).changes;
  }

  /** Forgets delivered entries (and their stored answers) last touched more than `keepMs` ago. */
  purgeDelivered(keepMs: number): number {
    const n = this.#stmt.purge.run(this.#now().mono - keepMs).changes;
    this.#counts.delivered -= n;
    return n;
  }

  stats(): JournalStats {
    const oldest = (this.#stmt.oldest.get() as { at: number | null }).at;
    const oldestAgeS = oldest === null ? 0 : Math.max(0, (this.#now().mono - oldest) / 1000);
    return { ...this.#counts, oldestAgeS, bytes: this.#bytes, maxBytes: this.#maxBytes };
  }

  /** A consistent copy of the journal at `file` (journal-backup.ts), taken while writes go on. */
  backup(file: string): Promise<void> {
    return backupDatabase(this.#db, file);
  }

  /** Records the time it was last in use at (a clean stop, a reboot's included), then closes. */
  close(): void {
    try {
      this.#stmt.seen.run(this.#now().mono);
    } finally {
      this.#db.close();
    }
  }

  #changed(changes: number, from: EntryState, to: EntryState): boolean {
    if (changes > 0) this.#move(from, to);
    return changes > 0;
  }

  #move(from: EntryState, to: EntryState): void {
    this.#counts[from]--;
    this.#counts[to]++;
  }

  #bytesOf(receipt: string): number {
    return (this.#stmt.bytesOf.get(receipt) as { bytes: number } | undefined)?.bytes ?? 0;
  }
}

function storedResponse(r: { upstream_status: number | null; response_headers: string | null; response_body: Buffer | null }): StoredResponse | undefined {
  if (r.upstream_status === null || r.response_headers === null) return undefined;
  return { status: r.upstream_status, headers: JSON.parse(r.response_headers) as Headers, body: r.response_body ?? Buffer.alloc(0) };
}
