// Telemetry and events on their way to the database: collected in memory and
// written in one transaction per tick (thousands of gateways at 10 s intervals
// are hundreds of messages a second; one transaction each would be one fsync
// each). A tick writes in chunks with a turn of the event loop between them,
// so ten thousand gateways' second of telemetry never holds up a command's
// answer for long. Bounded: past maxPending the batch is written at once.
// Once a chunk is committed, `committed` hears the ids of the gateways'
// messages it carried (the hub acknowledges them); a chunk that failed is
// never reported, so its gateways send it again after their next reconnect.
import type { Logger } from 'pino';
import type { TelemetrySample } from './downsample.js';
import type { HubStore, IngestBatch } from './store.js';
import type { NewEvent } from './store/events.js';

/** Messages written per transaction on a tick. */
const CHUNK = 250;

/** The gateways' message ids a batch carries, by gateway (the hub's own events have none). */
export function committedIds(batch: Pick<IngestBatch, 'telemetry' | 'events'>): Map<string, string[]> {
  const ids = new Map<string, string[]>();
  const add = (gatewayId: string, id: string | undefined) => {
    if (id === undefined) return;
    const list = ids.get(gatewayId);
    if (list) list.push(id);
    else ids.set(gatewayId, [id]);
  };
  for (const t of batch.telemetry) add(t.gatewayId, t.msgId);
  for (const e of batch.events) add(e.gatewayId, e.msgId);
  return ids;
}

export class Ingest {
  readonly #store: HubStore;
  readonly #logger: Logger;
  readonly #maxPending: number;
  readonly #committed: (ids: Map<string, string[]>) => void;
  #batch: IngestBatch = { telemetry: [], events: [], seen: new Map() };
  #timer: NodeJS.Timeout | undefined;
  #chunking = false;

  constructor(store: HubStore, logger: Logger, flushIntervalMs: number, committed: (ids: Map<string, string[]>) => void, maxPending = 20_000) {
    this.#store = store;
    this.#logger = logger;
    this.#maxPending = maxPending;
    this.#committed = committed;
    this.#timer = setInterval(() => this.#flushInChunks(), flushIntervalMs);
    this.#timer.unref();
  }

  telemetry(gatewayId: string, sample: TelemetrySample, msgId?: string): void {
    this.#batch.telemetry.push({ gatewayId, sample, ...(msgId !== undefined && { msgId }) });
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
  flush(): Promise<void> {
    const batch = this.#batch;
    this.#batch = { telemetry: [], events: [], seen: new Map() };
    return this.#write(batch);
  }

  #flushInChunks(): void {
    if (this.#chunking) return;
    this.#chunking = true;
    const step = async () => {
      const b = this.#batch;
      const chunk: IngestBatch = { telemetry: b.telemetry.splice(0, CHUNK), events: b.events.splice(0, CHUNK), seen: b.seen };
      b.seen = new Map();
      await this.#write(chunk);
      if (this.#timer && (b.telemetry.length > 0 || b.events.length > 0)) setImmediate(() => void step());
      else this.#chunking = false;
    };
    void step();
  }

  async #write(batch: IngestBatch): Promise<void> {
    if (batch.telemetry.length === 0 && batch.events.length === 0 && batch.seen.size === 0) return;
    try {
      await this.#store.writeBatch(batch);
    } catch (e) {
      // A full disk or a lost database must not take the hub (and every gateway's commands) down; the gap shows in the history
      // (gateways that take acks send theirs again after their next reconnect).
      this.#logger.error({ err: e, telemetry: batch.telemetry.length, events: batch.events.length }, 'cannot write telemetry; this batch is lost');
      return;
    }
    const ids = committedIds(batch);
    if (ids.size > 0) this.#committed(ids);
  }

  close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    return this.flush();
  }
}
