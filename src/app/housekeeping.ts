// The journal's housekeeping, once at start and then every minute (more often
// for a max age under 100 minutes): entries past the buffer's maximum age
// become dead letters (reported as one event a pass, however many), delivered
// entries drop the ERP's kept answer once no client retry can still want it,
// and the oldest pending entry's age is held against the expiry warnings
// (buffer.expiryWarnings).
import type { Logger } from 'pino';
import { ExpiryWarnings } from '../../sync/expiry-warnings.js';
import type { Journal } from '../../sync/journal.js';
import type { EntryView } from '../../sync/journal-store.js';
import { BATCH_EXAMPLES } from '../fleet/protocol.js';
import type { Signals } from './signals.js';

const HOUR_MS = 3_600_000;
const EVERY_MS = 60_000;
/**
 * A pass each hundredth of the max age when that is shorter than a minute, but
 * not more often than this: with a max age of minutes (a lab, a demo), passes a
 * minute apart would skip the warnings in between and expire entries late.
 */
const MIN_EVERY_MS = 1000;
/** Delivered entries keep the ERP's answer this long, for clients retrying with the same key. */
const KEEP_DELIVERED_MS = 48 * HOUR_MS;
/** The journal expires a bounded number of entries per call; a pass calls again until none is left, up to this many times. */
const MAX_EXPIRE_CALLS = 100;

export interface HousekeepingDeps {
  journal: Journal;
  /** Read at every pass: a reload applies at the next one. */
  buffer(): { maxAgeHours: number; expiryWarnings: readonly number[] };
  /** Where entries expired and expiry warnings are told (the fleet agent listens). */
  signals: Signals;
  logger: Logger;
}

export class Housekeeping {
  readonly #d: HousekeepingDeps;
  readonly #warnings = new ExpiryWarnings();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(deps: HousekeepingDeps) {
    this.#d = deps;
  }

  /** One pass now (awaited: the gateway starts with a tidy journal), then one at each interval. */
  async start(): Promise<void> {
    await this.#pass();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** The fraction of the max age the oldest pending entry has passed, as of the last pass; null without a warning. */
  expiryWarning(): number | null {
    return this.#warnings.level ?? null;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const everyMs = Math.max(MIN_EVERY_MS, Math.min(EVERY_MS, (this.#d.buffer().maxAgeHours * HOUR_MS) / 100));
    this.#timer = setTimeout(() => {
      this.#pass()
        .catch((e: Error) => this.#d.logger.error({ err: e }, 'journal housekeeping failed'))
        .finally(() => this.#schedule());
    }, everyMs);
    this.#timer.unref();
  }

  /** Ages are judged by the journal on its monotonic clock: a wall-clock step expires nothing (sync/journal-clock.ts). */
  async #pass(): Promise<void> {
    const { maxAgeHours, expiryWarnings } = this.#d.buffer();
    await this.#expire(maxAgeHours);
    await this.#d.journal.purgeDelivered(KEEP_DELIVERED_MS);
    await this.#watch(maxAgeHours, expiryWarnings);
  }

  async #expire(maxAgeHours: number): Promise<void> {
    const { journal, logger, signals } = this.#d;
    let count = 0;
    const first: string[] = [];
    for (let calls = 0; calls < MAX_EXPIRE_CALLS; calls++) {
      const receipts = await journal.expire(maxAgeHours * HOUR_MS);
      if (receipts.length === 0) break;
      count += receipts.length;
      first.push(...receipts.slice(0, BATCH_EXAMPLES - first.length));
    }
    if (count === 0) return;
    const views = await Promise.all(first.map((r) => journal.byReceipt(r)));
    const entries = views.filter((e): e is EntryView => e !== undefined).map((e) => ({ receipt: e.receipt, route: e.route, reason: e.lastError ?? 'expired' }));
    logger.warn({ count, receipts: first }, 'journal entries expired and became dead letters');
    signals.emit('expired', { count, maxAgeHours, entries });
  }

  async #watch(maxAgeHours: number, fractions: readonly number[]): Promise<void> {
    const { pending, oldestAgeS } = await this.#d.journal.stats();
    const maxAgeS = maxAgeHours * 3600;
    const change = this.#warnings.observe(oldestAgeS, maxAgeS, fractions);
    if (!change) return;
    const details = { kind: change.kind, fraction: change.fraction, oldestAgeS: Math.round(oldestAgeS), maxAgeS, pending };
    if (change.kind === 'raised') {
      this.#d.logger.warn(details, `the oldest pending journal entry is past ${Math.round(change.fraction * 100)} % of buffer.maxAgeHours: pending entries become dead letters at ${maxAgeHours} h`);
    } else {
      this.#d.logger.info(details, 'the journal backlog drained below the expiry warnings');
    }
    this.#d.signals.emit('expiry', details);
  }
}
