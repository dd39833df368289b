// The gateway's handle on the journal. Every call is answered by the worker
// thread that owns the database. Writes (appends and state changes) that
// arrive while a commit is under way are gathered into the next one (group
// commit): one transaction and one fsync for all of them, however many wait.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../src/util/worker-module.js';
import {
  JournalOpenError,
  type AppendResult,
  type DueEntry,
  type EntryState,
  type EntryView,
  type JournalStats,
  type NewEntry,
  type Settlement,
  type StateChange,
  type StoredResponse,
  type WriteOp,
  type WriteResult,
} from './journal-store.js';
import { fromWire, type JournalOp, type WorkerReply } from './journal-wire.js';

interface QueuedWrite {
  op: WriteOp;
  resolve: (r: WriteResult) => void;
  reject: (e: Error) => void;
}

export class Journal {
  readonly #worker: Worker;
  readonly #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #queued: QueuedWrite[] = [];
  #committing = false;
  #closed = false;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (m: WorkerReply) => {
      const call = this.#calls.get(m.id);
      if (!call) return;
      this.#calls.delete(m.id);
      if (m.ok) call.resolve(fromWire(m.result));
      else call.reject(new Error(m.error));
    });
    worker.on('error', (e) => this.#failAll(e));
    worker.on('exit', () => this.#failAll(new Error('journal worker exited')));
  }

  /** Opens the journal on its worker. Rejects with JournalOpenError for a foreign, damaged or unreadable file. */
  static async open(file: string, maxBytes: number): Promise<Journal> {
    const worker = startWorker(new URL('./journal-worker.js', import.meta.url), { workerData: { file, maxBytes } });
    const first = await new Promise<{ ready: boolean; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!first.ready) {
      await worker.terminate();
      throw new JournalOpenError(file, (first.error ?? 'cannot open').replace(`${file}: `, ''));
    }
    return new Journal(worker);
  }

  /** Durably stores an entry; resolves once the commit holding it has reached disk. */
  append(entry: NewEntry): Promise<AppendResult> {
    if (this.#closed) return Promise.resolve({ status: 'failed', reason: 'journal closed' });
    return this.#write({ op: 'append', entry }) as Promise<AppendResult>;
  }

  markDelivered(receipt: string, response: StoredResponse) {
    return this.#write({ op: 'delivered', receipt, response }) as Promise<StateChange>;
  }
  /** Counts a failed attempt; the entry is due again in `delayMs` (on the journal's monotonic clock, as every wait). */
  markRetry(receipt: string, delayMs: number, error: string, status: number | null) {
    return this.#write({ op: 'retry', receipt, delayMs, error, status }) as Promise<StateChange>;
  }
  markDead(receipt: string, reason: string, attempted: boolean, response?: StoredResponse) {
    return this.#write({ op: 'dead', receipt, reason, attempted, response }) as Promise<StateChange>;
  }

  /** The attempt may have taken effect at an ERP that does not dedupe: held for a read-back in `checkAfterMs`, or an operator. */
  markUnknown(receipt: string, reason: string, status: number | null, checkAfterMs: number) {
    return this.#write({ op: 'unknown', receipt, reason, status, checkAfterMs }) as Promise<StateChange>;
  }
  /** Settles an unknown entry; `by` is recorded with the time (an operator's name, or the read-back check). */
  settle(receipt: string, as: Settlement, by: string): Promise<boolean> {
    return (this.#write({ op: 'settle', receipt, as, by }) as Promise<StateChange>).then((done) => {
      // A person's decision is not dropped quietly: they are told to give it again.
      if (done === null) throw new Error(`the journal could not record the settlement of ${receipt} (is the disk full?); nothing changed`);
      return done;
    });
  }
  /** Marks an attempt at an ERP that does not dedupe as begun, before it is made: a process killed during it leaves the entry unknown, not pending. */
  beginAttempt(receipt: string) {
    return this.#write({ op: 'begin', receipt }) as Promise<StateChange>;
  }
  checkLater(receipt: string, afterMs: number, error: string) {
    return this.#write({ op: 'checkLater', receipt, afterMs, error }) as Promise<StateChange>;
  }

  #write(op: WriteOp): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.#queued.push({ op, resolve, reject });
      if (!this.#committing) {
        this.#committing = true;
        // Let every write of this turn of the event loop join the first commit.
        setImmediate(() => void this.#commit());
      }
    });
  }

  async #commit(): Promise<void> {
    while (this.#queued.length > 0) {
      const batch = this.#queued;
      this.#queued = [];
      try {
        const results = (await this.#call('write', batch.map((p) => p.op))) as WriteResult[];
        batch.forEach((p, i) => p.resolve(results[i]!));
      } catch (e) {
        for (const p of batch) p.reject(e as Error);
      }
    }
    this.#committing = false;
  }

  byReceipt(receipt: string) {
    return this.#call('byReceipt', receipt) as Promise<EntryView | undefined>;
  }
  due(limit: number, exclude: ReadonlySet<string>) {
    return this.#call('due', limit, exclude) as Promise<DueEntry[]>;
  }
  checksDue(routes: readonly string[], limit: number, exclude: ReadonlySet<string>) {
    return this.#call('checksDue', routes, limit, exclude) as Promise<DueEntry[]>;
  }
  nextDueInMs() {
    return this.#call('nextDueInMs') as Promise<number | undefined>;
  }
  retryDead(receipt: string) {
    return this.#call('retryDead', receipt) as Promise<boolean>;
  }
  discard(receipt: string) {
    return this.#call('discard', receipt) as Promise<boolean>;
  }
  list(state: EntryState, limit: number, afterSeq = 0) {
    return this.#call('list', state, limit, afterSeq) as Promise<EntryView[]>;
  }
  expire(maxAgeMs: number) {
    return this.#call('expire', maxAgeMs) as Promise<string[]>;
  }
  expedite() {
    return this.#call('expedite') as Promise<number>;
  }
  purgeDelivered(keepMs: number) {
    return this.#call('purgeDelivered', keepMs) as Promise<number>;
  }
  /** A consistent copy of the journal at `file`, taken while writes go on (journal-backup.ts). */
  backup(file: string) {
    return this.#call('backup', file) as Promise<void>;
  }
  stats() {
    return this.#call('stats') as Promise<JournalStats>;
  }
  interruptedAtOpen() {
    return this.#call('interruptedAtOpen') as Promise<EntryView[]>;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#committing) await new Promise((r) => setImmediate(r));
    await this.#call('close').catch(() => undefined);
    await this.#worker.terminate();
  }

  #call(op: JournalOp, ...args: unknown[]): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.#worker.postMessage({ id, op, args });
    });
  }

  #failAll(e: Error): void {
    for (const call of this.#calls.values()) call.reject(e);
    this.#calls.clear();
  }
}
