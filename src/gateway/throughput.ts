// How fast a path delivers answers, from the answers' own bytes: what the
// gateway read over the time it was receiving at least one answer ("busy"
// time). Idle time and the gaps while the ERP computes an answer are left out,
// so a path that is sent little, or one request at a time, still reads at the
// rate its link carried those bytes, not at the rate it was asked for them
// (which would shrink a budget built on it, and with it the rate, for ever).
// Pure: the caller supplies the busy time.

/**
 * Busy time per bin: a few packets even at 512 kbit/s, and short, since bulk
 * goes one request at a time until the first bin is complete.
 */
const BIN_MS = 100;
/** Bins kept: the estimate is the rate over the last two seconds of busy time. */
const BINS = 20;

export class ThroughputEstimator {
  /** Completed bins, oldest first. */
  readonly #bins: { bytes: number; ms: number }[] = [];
  #bytes = 0;
  #ms = 0;

  /** `bytes` read over `busyMs` milliseconds during which an answer was being received. */
  add(bytes: number, busyMs: number): void {
    this.#bytes += bytes;
    this.#ms += busyMs;
    if (this.#ms < BIN_MS) return;
    this.#bins.push({ bytes: this.#bytes, ms: this.#ms });
    if (this.#bins.length > BINS) this.#bins.shift();
    this.#bytes = 0;
    this.#ms = 0;
  }

  /**
   * Bytes per second over the kept bins; undefined until a bin is complete.
   * A mean, not the best bin (as BBR's max filter): a bin boundary may fall
   * between a spell of held reading and the burst read when it ends, or
   * within an event-loop stall, and the best bin is then that burst.
   */
  get bytesPerSecond(): number | undefined {
    if (this.#bins.length === 0) return undefined;
    let bytes = 0;
    let ms = 0;
    for (const b of this.#bins) {
      bytes += b.bytes;
      ms += b.ms;
    }
    return (bytes * 1000) / ms;
  }
}
