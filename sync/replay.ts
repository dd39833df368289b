// The replay engine: delivers journaled entries when the ERP can take them —
// FIFO per ordering key, critical first, at most `concurrency` at once and at
// most `ratePerSec` started per second (lowered while a fleet hub's drain
// grant runs) — and records what became of each.
import type { Logger } from 'pino';
import type { DedupeKind } from '../edge-config/schema.js';
import type { Journal } from './journal.js';
import { settledAnswer, type DueEntry, type EntryView, type StoredResponse } from './journal-store.js';
import { DrainLimit } from './drain-limit.js';
import { decide, type AttemptOutcome, type BackoffSettings, type Decision } from './retry-policy.js';
import { TokenBucket } from './token-bucket.js';

/** How long the journal is left alone before recording an attempt it could not write (a full disk) is tried again. */
const UNRECORDED_HOLD_MS = 5000;

/** The journal could not write an attempt's outcome (a full disk): nothing changed, the entry is still pending. */
export class UnrecordedError extends Error {
  constructor(readonly receipt: string) {
    super(`the journal could not record the outcome of ${receipt}`);
    this.name = 'UnrecordedError';
  }
}

export interface DeliveryAttempt {
  outcome: AttemptOutcome;
  /** The ERP's answer, kept for idempotent retries once delivered (or as the reason when dead). */
  response?: StoredResponse | undefined;
}

export interface ReplaySettings extends BackoffSettings {
  ratePerSec: number;
  concurrency: number;
}

/** What a route's entries need to know of their ERP: how it dedupes, and whether a read-back can settle an unknown outcome. */
export interface RoutePolicy {
  dedupe: DedupeKind;
  check?: { afterMs: number; everyMs: number } | undefined;
}

/** Records an attempt's result in the journal; shared by live tries and replay. */
export async function settle(journal: Journal, entry: EntryView, attempt: DeliveryAttempt, settings: BackoffSettings, policy: RoutePolicy, logger: Logger): Promise<Decision> {
  const decision = decide(attempt.outcome, entry.attempts + 1, settings, policy.dedupe);
  const status = attempt.outcome.kind === 'response' ? attempt.outcome.status : null;
  const written = await (() => {
    switch (decision.action) {
      case 'delivered':
        return journal.markDelivered(entry.receipt, attempt.response ?? { status: status ?? 200, headers: {}, body: Buffer.alloc(0) });
      case 'dead':
        return journal.markDead(entry.receipt, decision.reason, true, attempt.response);
      case 'retry':
        return journal.markRetry(entry.receipt, decision.delayMs, decision.reason, status);
      case 'unknown':
        return journal.markUnknown(entry.receipt, decision.reason, status, policy.check?.afterMs ?? 0);
    }
  })();
  if (written === null) throw new UnrecordedError(entry.receipt);
  switch (decision.action) {
    case 'dead':
      logger.warn({ receipt: entry.receipt, route: entry.route, reason: decision.reason }, 'journal entry is a dead letter');
      break;
    case 'unknown':
      logger.warn(
        { receipt: entry.receipt, route: entry.route, reason: decision.reason, settledBy: policy.check ? 'read-back check' : 'an operator' },
        'journal entry outcome unknown: held, not sent again',
      );
      break;
  }
  logger.debug({ receipt: entry.receipt, attempts: entry.attempts + 1, decision }, 'journal entry attempt settled');
  return decision;
}

export interface ReplayDeps {
  journal: Journal;
  deliver(entry: DueEntry): Promise<DeliveryAttempt>;
  /** Read at every use, so a configuration reload applies at once. */
  settings(): ReplaySettings;
  /** The policy of an entry's route (read at every use). */
  policy(route: string): RoutePolicy;
  /** The routes whose unknown entries a read-back can settle. */
  checkedRoutes(): readonly string[];
  /** Whether an unknown entry's write is visible at the ERP; rejects when the ERP could not say. */
  readBack(entry: DueEntry): Promise<boolean>;
  logger: Logger;
  onSettled?(entry: EntryView, decision: Decision): void;
}

const IDLE_POLL_MS = 1000;
/** How often unknown entries are looked at for a due read-back, and how many are read back at once. */
const CHECK_POLL_MS = 1000;
const CHECKS_AT_ONCE = 8;
/** Who settled an entry the read-back decided, as the journal records it. */
const READ_BACK = 'read-back check';
/** A read-back that has not answered by then counts as failed: one stuck request must not stop every later check. */
const READ_BACK_LIMIT_MS = 60_000;

function withLimit<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}
const PICK_BATCH = 8;

export class ReplayEngine {
  readonly #deps: ReplayDeps;
  readonly #bucket: TokenBucket;
  readonly #limit: DrainLimit;
  #paused = false;
  /** Monotonic time until which nothing is picked: the jittered start after a link came back. */
  #heldUntil = 0;
  #stopped = true;
  #inflight = 0;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  /** Receipts being tried right now (live or replay): never picked twice. */
  readonly #leases = new Set<string>();
  /** Receipts whose outcome the journal has yet to take. */
  readonly #recording = new Set<string>();
  #checking: Promise<void> | undefined;

  constructor(deps: ReplayDeps) {
    this.#deps = deps;
    // The bucket runs on the monotonic clock: a wall-clock jump must not empty or stall it.
    this.#bucket = new TokenBucket(deps.settings().ratePerSec, performance.now());
    this.#limit = new DrainLimit(deps.settings().ratePerSec);
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#loop = this.#run();
    this.#checkTimer = setInterval(() => {
      this.#checking ??= this.#readBacks().finally(() => (this.#checking = undefined));
    }, CHECK_POLL_MS);
  }

  /** Stops picking new entries and waits for those in flight to be delivered and recorded. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#checkTimer);
    this.wake();
    await Promise.all([this.#loop, this.#checking]);
    while (this.#inflight > 0 || this.#leases.size > 0) await new Promise((r) => setTimeout(r, 10));
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.wake();
  }

  /** The gateway's own rate (its configuration, or an operator's word); a drain grant may hold it lower. */
  setRate(ratePerSec: number): void {
    this.#limit.setOwn(ratePerSec);
    this.#applyRate(performance.now());
    this.wake();
  }

  /** A fleet hub's share of its region's budget: at most this rate for `leaseMs`, then the own rate again. */
  grant(ratePerSec: number, leaseMs: number): void {
    this.#limit.grant(ratePerSec, leaseMs, performance.now());
    this.#applyRate(performance.now());
    this.wake();
  }

  /**
   * Picks nothing for `ms` (the pause an operator set is separate). A link back
   * from DOWN makes every entry that waited for it due at once, at every store
   * it came back to: a random hold spreads their first requests out.
   */
  holdFor(ms: number): void {
    this.#heldUntil = Math.max(this.#heldUntil, performance.now() + ms);
  }

  /** A lapsed grant leaves the bucket at the own rate again. */
  #applyRate(mono: number): void {
    const rate = this.#limit.rate(mono);
    if (rate !== this.#bucket.rate) this.#bucket.setRate(rate, mono);
  }

  /** Something changed (a new entry, a finished attempt): look again now. */
  wake(): void {
    this.#wake?.();
  }

  status() {
    const mono = performance.now();
    this.#applyRate(mono);
    const grant = this.#limit.current(mono);
    return { paused: this.#paused, ratePerSec: this.#bucket.rate, ownRatePerSec: this.#limit.own, grant: grant ?? null, inflight: this.#inflight };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  async #run(): Promise<void> {
    const { journal, logger } = this.#deps;
    while (!this.#stopped) {
      try {
        const free = this.#deps.settings().concurrency - this.#inflight;
        // While deliveries are under way, wait for several free slots: one journal query then starts several.
        const worthPicking = this.#inflight === 0 || free >= Math.min(PICK_BATCH, this.#deps.settings().concurrency);
        if (this.#paused || free <= 0 || !worthPicking) {
          await this.#sleep(IDLE_POLL_MS);
          continue;
        }
        const mono = performance.now();
        if (mono < this.#heldUntil) {
          await this.#sleep(Math.min(IDLE_POLL_MS, this.#heldUntil - mono));
          continue;
        }
        this.#applyRate(mono);
        const tokens = this.#bucket.available(mono);
        if (tokens < 1) {
          // At most a poll interval: a grant of 0 never fills the bucket, and a lapsing grant raises the rate.
          await this.#sleep(Math.min(IDLE_POLL_MS, this.#bucket.msUntilToken(mono)));
          continue;
        }
        const due = await journal.due(Math.min(tokens, free), this.#leases);
        if (due.length === 0) {
          const next = this.#leases.size > 0 ? undefined : await journal.nextDueInMs();
          await this.#sleep(next === undefined ? IDLE_POLL_MS : Math.min(IDLE_POLL_MS, Math.max(5, next)));
          continue;
        }
        for (const entry of due) {
          // Leased since the query was sent (a live try took it): not ours to send.
          if (this.#leases.has(entry.receipt)) continue;
          this.#bucket.take(mono);
          this.#leases.add(entry.receipt);
          this.#inflight++;
          void this.#attempt(entry);
        }
      } catch (e) {
        // The journal failing is reported, never fatal to the loop: entries stay stored.
        logger.error({ err: e }, 'replay loop error');
        await this.#sleep(IDLE_POLL_MS);
      }
    }
  }

  /** Settles the unknown entries whose read-back is due: visible at the ERP → delivered, absent → pending again. */
  async #readBacks(): Promise<void> {
    const { journal, logger } = this.#deps;
    const routes = this.#deps.checkedRoutes();
    if (this.#paused || routes.length === 0) return;
    try {
      const due = await journal.checksDue(routes, CHECKS_AT_ONCE, this.#leases);
      await Promise.all(
        due.map(async (entry) => {
          this.#leases.add(entry.receipt);
          try {
            const applied = await withLimit(this.#deps.readBack(entry), READ_BACK_LIMIT_MS);
            await journal.settle(entry.receipt, applied ? 'delivered' : 'retry', READ_BACK);
            logger.info({ receipt: entry.receipt, route: entry.route, applied }, applied ? 'read-back: the write is at the ERP; delivered' : 'read-back: the write is not at the ERP; sent again');
          } catch (e) {
            const everyMs = this.#deps.policy(entry.route).check?.everyMs ?? CHECK_POLL_MS;
            await journal.checkLater(entry.receipt, everyMs, `read-back failed: ${(e as Error).message}`);
          } finally {
            this.#leases.delete(entry.receipt);
          }
        }),
      );
      if (due.length > 0) this.wake();
    } catch (e) {
      logger.error({ err: e }, 'read-back of unknown entries failed');
    }
  }

  async #attempt(entry: DueEntry): Promise<void> {
    if (!(await this.#begin(entry))) {
      this.#inflight--;
      // Not begun (a full disk, or no longer pending): left alone a while, never sent unmarked.
      setTimeout(() => {
        this.#leases.delete(entry.receipt);
        this.wake();
      }, UNRECORDED_HOLD_MS).unref();
      return;
    }
    let attempt: DeliveryAttempt;
    try {
      attempt = await this.#confirmRefusal(entry, await this.#deps.deliver(entry));
    } catch (e) {
      attempt = { outcome: { kind: 'network', detail: (e as Error).message } };
    } finally {
      // The ERP has answered: the slot is free for the next delivery while this
      // one's outcome is committed. The lease stays until then, so the entry is not picked again.
      this.#inflight--;
      this.wake();
    }
    try {
      const decision = await this.#record(entry, attempt);
      if (decision) this.#deps.onSettled?.(entry, decision);
    } finally {
      this.#leases.delete(entry.receipt);
      this.wake();
    }
  }

  /**
   * An ERP that does not dedupe refuses a write it has already applied ("this
   * transfer is already done"). When an earlier attempt of the entry may have
   * reached it — a copy delayed on a link that was cut can land after a
   * read-back found it absent — a refusal is read back before it makes a dead
   * letter: found, the entry was delivered, once; not found, the refusal stands;
   * the ERP could not say, the outcome is unknown and the read-back asks again.
   */
  async #confirmRefusal(entry: DueEntry, attempt: DeliveryAttempt): Promise<DeliveryAttempt> {
    const policy = this.#deps.policy(entry.route);
    if (policy.check === undefined || entry.attempts === 0) return attempt;
    const decision = decide(attempt.outcome, entry.attempts + 1, this.#deps.settings(), policy.dedupe);
    if (decision.action !== 'dead') return attempt;
    try {
      if (!(await withLimit(this.#deps.readBack(entry), READ_BACK_LIMIT_MS))) return attempt;
    } catch (e) {
      return { outcome: { kind: 'lost', detail: `refused (${decision.reason}) after an attempt that may have reached it; read-back failed: ${(e as Error).message}` } };
    }
    this.#deps.logger.info({ receipt: entry.receipt, route: entry.route, refusal: decision.reason }, 'read-back: a refused write is at the ERP from an earlier attempt; delivered');
    return { outcome: { kind: 'response', status: 200 }, response: settledAnswer(READ_BACK) };
  }

  /**
   * At an ERP that does not dedupe, an attempt is marked as begun before it is
   * made: a process killed during it leaves the entry unknown, not pending. True
   * when the attempt may be made.
   */
  async #begin(entry: EntryView): Promise<boolean> {
    if (this.#deps.policy(entry.route).dedupe !== 'none') return true;
    try {
      return (await this.#deps.journal.beginAttempt(entry.receipt)) === true;
    } catch (e) {
      this.#deps.logger.error({ receipt: entry.receipt, err: e }, 'could not mark an attempt as begun; not making it');
      return false;
    }
  }

  /**
   * A live try's attempt whose outcome the journal could not take: recorded in
   * the background, the entry leased (never sent again) meanwhile.
   */
  recordLater(entry: EntryView, attempt: DeliveryAttempt): void {
    this.#leases.add(entry.receipt);
    this.#recording.add(entry.receipt);
    void this.#record(entry, attempt)
      .then((decision) => decision && this.#deps.onSettled?.(entry, decision))
      .finally(() => {
        this.#recording.delete(entry.receipt);
        this.#leases.delete(entry.receipt);
        this.wake();
      });
  }

  /**
   * Leases receipts for a live try, taken before their entries exist: the
   * engine must never pick an entry a live try is about to send (an ERP that
   * does not dedupe would get it twice). The returned function lets go of
   * them, but for any whose outcome is being recorded later (recordLater):
   * that lease the engine keeps until the journal has the outcome.
   */
  leaseForLive(receipts: readonly string[]): () => void {
    for (const r of receipts) this.#leases.add(r);
    return () => {
      for (const r of receipts) if (!this.#recording.has(r)) this.#leases.delete(r);
      this.wake();
    };
  }

  /**
   * Records an attempt's outcome, trying again until the journal takes it. An
   * attempt whose outcome could not be written (a full disk) is never made
   * again for that reason: at an ERP that does not dedupe it would apply twice.
   * Undefined when the engine stopped first (the entry is then still pending).
   */
  async #record(entry: EntryView, attempt: DeliveryAttempt): Promise<Decision | undefined> {
    const { journal, logger } = this.#deps;
    for (;;) {
      try {
        return await settle(journal, entry, attempt, this.#deps.settings(), this.#deps.policy(entry.route), logger);
      } catch (e) {
        if (this.#stopped) return undefined;
        logger.error({ receipt: entry.receipt, err: e, holdMs: UNRECORDED_HOLD_MS }, 'could not record a delivery attempt; recording it again, not delivering it again');
        await new Promise((r) => setTimeout(r, UNRECORDED_HOLD_MS).unref());
      }
    }
  }
}
