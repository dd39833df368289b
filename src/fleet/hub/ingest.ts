// Telemetry and events on their way to the database: collected in memory and
// written in one transaction per tick (thousands of gateways at 10 s intervals
// are hundreds of messages a second; one transaction each would be one fsync
// each). Bounded: past maxPending the batch is written at once.
import type { Logger } from 'pino';
import type { TelemetrySample } from './downsample.js';
import type { HubStore, IngestBatch, NewEvent } from './store.js';

export class Ingest {
  readonly #store: HubStore;
  readonly #logger: Logger;
  readonly #maxPending: number;
  #batch: IngestBatch = { telemetry: [], events: [], seen: new Map() };
  #timer: NodeJS.Timeout | undefined;

  constructor(store: HubStore, logger: Logger, flushIntervalMs: number, maxPending = 20_000) {
    this.#store = store;
    this.#logger = logger;
    this.#maxPending = maxPending;
    this.#timer = setInterval(() => this.flush(), flushIntervalMs);
    this.#timer.unref();
  }

  telemetry(gatewayId: string, sample: TelemetrySample): void {
    this.#batch.telemetry.push({ gatewayId, sample });
    this.#maybeFlush();
  }

  event(e: NewEvent): void {
    this.#batch.events.push(e);
    this.#maybeFlush();
  }

  seen(gatewayId: string, at: number): void {
    this.#batch.seen.set(gatewayId, at);
  }

  #maybeFlush(): void {
    if (this.#batch.telemetry.length + this.#batch.events.length >= this.#maxPending) this.flush();
  }

  /** Writes what is pending. Reads that must see the latest state call this first. */
  flush(): void {
    const batch = this.#batch;
    if (batch.telemetry.length === 0 && batch.events.length === 0 && batch.seen.size === 0) return;
    this.#batch = { telemetry: [], events: [], seen: new Map() };
    try {
      this.#store.writeBatch(batch);
    } catch (e) {
      // A full disk must not take the hub (and every gateway's commands) down; the gap shows in the history.
      this.#logger.error({ err: (e as Error).message, telemetry: batch.telemetry.length, events: batch.events.length }, 'cannot write telemetry; this batch is lost');
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.flush();
  }
}
