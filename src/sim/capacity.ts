// A bounded-capacity upstream, like an Odoo with a fixed number of workers:
// at most `concurrency` requests in service at once, each taking `serviceMs`,
// the rest waiting their turn in arrival order.
import { setTimeout as sleep } from 'node:timers/promises';

export interface Capacity {
  /** 0 admits nothing until it is raised, which lets a caller build up a queue on purpose. */
  concurrency: number;
  serviceMs: number;
}

export interface Slot {
  /** Settles once the request is admitted and its service time has passed. */
  served: Promise<void>;
  /** Frees the slot, or gives up the place in the queue; safe to call more than once. */
  leave(): void;
}

export function parseCapacity(v: unknown): { capacity: Capacity | null } | { error: string } {
  if (v === null) return { capacity: null };
  const error = { error: 'null or {"concurrency": whole number >= 0, "serviceMs": whole number >= 0} expected' };
  if (typeof v !== 'object' || Array.isArray(v)) return error;
  const { concurrency, serviceMs, ...rest } = v as Record<string, unknown>;
  const whole = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!whole(concurrency) || !whole(serviceMs) || Object.keys(rest).length > 0) return error;
  return { capacity: { concurrency, serviceMs } };
}

export class CapacityGate {
  #limit: Capacity | null = null;
  #inService = 0;
  #peak = 0;
  #queue: (() => void)[] = [];

  get limit(): Capacity | null {
    return this.#limit;
  }

  /** Takes effect at once: a raised or removed limit admits waiting requests. */
  set limit(c: Capacity | null) {
    this.#limit = c;
    this.#admit();
  }

  load(): { inService: number; queued: number; peakInService: number } {
    return { inService: this.#inService, queued: this.#queue.length, peakInService: this.#peak };
  }

  resetPeak(): void {
    this.#peak = this.#inService;
  }

  enter(): Slot {
    let state: 'queued' | 'in' | 'out' = 'queued';
    let admitted!: (serviceMs: number) => void;
    const served = new Promise<number>((resolve) => (admitted = resolve)).then((ms) => (ms > 0 ? sleep(ms, undefined, { ref: false }) : undefined));
    const admit = () => {
      state = 'in';
      this.#inService++;
      this.#peak = Math.max(this.#peak, this.#inService);
      admitted(this.#limit?.serviceMs ?? 0);
    };
    this.#queue.push(admit);
    this.#admit();
    return {
      served,
      leave: () => {
        if (state === 'in') {
          this.#inService--;
          state = 'out';
          this.#admit();
        } else if (state === 'queued') {
          this.#queue.splice(this.#queue.indexOf(admit), 1);
          state = 'out';
        }
      },
    };
  }

  #admit(): void {
    while (this.#queue.length > 0 && (this.#limit === null || this.#inService < this.#limit.concurrency)) this.#queue.shift()!();
  }
}
