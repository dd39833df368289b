// The journal's housekeeping, once at start and then every minute: entries
// past the buffer's maximum age become dead letters, and delivered entries
// drop the ERP's kept answer once no client retry can still want it.
import type { Logger } from 'pino';
import type { Journal } from '../../sync/journal.js';

const EVERY_MS = 60_000;
/** Delivered entries keep the ERP's answer this long, for clients retrying with the same key. */
const KEEP_DELIVERED_MS = 48 * 3_600_000;

export class Housekeeping {
  readonly #journal: Journal;
  /** Read at every pass: a reload applies at the next one. */
  readonly #maxAgeHours: () => number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(journal: Journal, maxAgeHours: () => number, logger: Logger) {
    this.#journal = journal;
    this.#maxAgeHours = maxAgeHours;
    this.#logger = logger;
  }

  /** One pass now (awaited: the gateway starts with a tidy journal), then one every minute. */
  async start(): Promise<void> {
    await this.#pass();
    this.#timer = setInterval(() => {
      this.#pass().catch((e: Error) => this.#logger.error({ err: e }, 'journal housekeeping failed'));
    }, EVERY_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Ages are judged by the journal on its monotonic clock: a wall-clock step expires nothing (sync/journal-clock.ts). */
  async #pass(): Promise<void> {
    const expired = await this.#journal.expire(this.#maxAgeHours() * 3_600_000);
    if (expired.length > 0) this.#logger.warn({ count: expired.length, receipts: expired.slice(0, 20) }, 'journal entries expired and became dead letters');
    await this.#journal.purgeDelivered(KEEP_DELIVERED_MS);
  }
}
