// How fast a path delivers answers, from the answers' own bytes: what the
// gateway read over the time it was receiving at least one answer ("busy"
// time). Idle time and the gaps while the ERP computes an answer are left out,
// so a path that is sent little, or one request at a time, still reads at the
// rate its link carried those bytes, not at the rate it was asked for them
// (which would shrink a budget built on it, and with it the rate, for ever).
// Pure: the caller supplies the busy time.

/** Busy time per bin: long enough to hold several packets on a thin link, short enough to follow a change within a couple of seconds. */
const BIN_MS = 250;
/** Bins kept: the estimate is the best of the last two seconds of busy time. */
const BINS = 8;

export class ThroughputEstimator {
  /** Completed bins' rates, bytes per second, oldest first. */
  readonly #rates: number[] = [];
  #bytes = 0;
  #ms = 0;

  /** `bytes` read over `busyMs` milliseconds during which an answer was being received. */
  add(bytes: number, busyMs: number): void {
    this.#bytes += bytes;
    this.#ms += busyMs;
    if (this.#ms < BIN_MS) return;
    this.#rates.push((this.#bytes * 1000) / this.#ms);
    if (this.#rates.length > BINS) this.#rates.shift();
    this.#bytes = 0;
    this.#ms = 0;
  }

  /**
   * Bytes per second the path carried at its best recently (a max filter, as
   * BBR's bottleneck estimate: a bin where the sender was slow says less of
   * the link than the fastest one); undefined until a bin is complete.
   */
  get bytesPerSecond(): number | undefined {
    return this.#rates.length === 0 ? undefined : Math.max(...this.#rates);
  }
}
