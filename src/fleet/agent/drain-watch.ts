// While the hub holds this gateway to a share of its region's drain budget,
// the hub should hear at once when the backlog is gone, so it can hand that
// share to the stores still draining: the next telemetry may be ten seconds
// away. The watch looks at the backlog every second while a grant is in force
// and reports once when it empties.

/** How often the backlog is looked at while a grant is in force. */
export const WATCH_EVERY_MS = 1000;

export interface DrainWatchDeps {
  /** The journal's pending count; rejects when the journal cannot say. */
  pending(): Promise<number>;
  /** Sends telemetry now. */
  report(): void;
  now?: () => number;
}

export class DrainWatch {
  readonly #d: DrainWatchDeps;
  readonly #now: () => number;
  #until = 0;
  #timer: NodeJS.Timeout | undefined;
  #backlogged = false;

  constructor(deps: DrainWatchDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** A grant arrived: watch until its lease ends (a renewal extends it). */
  granted(leaseMs: number): void {
    this.#until = this.#now() + leaseMs;
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.check(), WATCH_EVERY_MS);
    this.#timer.unref();
  }

  /** One look at the backlog; the timer calls it, tests call it directly. */
  async check(): Promise<void> {
    if (this.#now() >= this.#until) return this.stop();
    let pending: number;
    try {
      pending = await this.#d.pending();
    } catch {
      // The telemetry sampler reports a failing journal; the watch only looks again.
      return;
    }
    if (pending > 0) this.#backlogged = true;
    else if (this.#backlogged) {
      this.#backlogged = false;
      this.#d.report();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
