// When to send the next probe on a path and how long each may take. Pure.
//
// Detection within a second needs more than a slow steady cadence: BFD-style,
// a probe that is overdue (later than the path's usual round trip) makes the
// monitor send further probes at a fast cadence, in parallel, each with its
// own deadline. A dead path then collects `downAfter` failures within about
// one probe deadline of the first overdue probe, while a healthy path costs
// only the steady cadence. Deadlines adapt to the path the way TCP's
// retransmission timer does (RFC 6298: SRTT + 4·RTTVAR), between a floor that
// keeps ordinary jitter from counting as loss and the configured timeout; a
// timeout doubles the next deadline (as RFC 6298 §5.5 backs off), so a path
// whose RTT jumped is measured again instead of being lost for good.

export interface ProbeTimingSettings {
  /** Steady cadence. */
  intervalMs: number;
  /** Cadence while a probe is overdue. */
  fastIntervalMs: number;
  /** The longest any probe may take. */
  timeoutMs: number;
  /** The shortest deadline a probe gets, however fast the path has been. */
  minTimeoutMs: number;
  /** Probes in flight at once. */
  maxOutstanding: number;
}

/** A probe is overdue this long after it was sent, at the least. */
const MIN_OVERDUE_MS = 50;
const ALPHA = 1 / 8;
const BETA = 1 / 4;

export class ProbeTiming {
  #srtt: number | undefined;
  #rttvar = 0;
  #backoff = 1;

  constructor(private readonly s: ProbeTimingSettings) {}

  /**
   * A probe answered after `rttMs`; without it, an answer whose time is not
   * the path's round trip (it included connection set-up): it ends the
   * backoff but does not shape the deadlines.
   */
  answered(rttMs?: number): void {
    this.#backoff = 1;
    if (rttMs === undefined) return;
    if (this.#srtt === undefined) {
      this.#srtt = rttMs;
      this.#rttvar = rttMs / 2;
    } else {
      this.#rttvar = (1 - BETA) * this.#rttvar + BETA * Math.abs(this.#srtt - rttMs);
      this.#srtt = (1 - ALPHA) * this.#srtt + ALPHA * rttMs;
    }
  }

  /** A probe got no answer within its deadline. */
  lost(): void {
    this.#backoff = Math.min(this.#backoff * 2, 64);
  }

  /** The deadline of a probe sent now. */
  deadlineMs(): number {
    return Math.min(this.s.timeoutMs, Math.max(this.s.minTimeoutMs, this.#rto()) * this.#backoff);
  }

  /** How long after sending a probe counts as overdue. */
  overdueAfterMs(): number {
    return Math.min(this.deadlineMs(), Math.max(MIN_OVERDUE_MS, this.#rto()));
  }

  /**
   * When the next probe should go: `lastSentAt` is the last send (undefined
   * before the first), `outstanding` the send times of probes still in flight.
   */
  nextSendAt(lastSentAt: number | undefined, outstanding: readonly number[]): number {
    if (lastSentAt === undefined) return 0;
    if (outstanding.length >= this.s.maxOutstanding) return Infinity;
    const steady = lastSentAt + this.s.intervalMs;
    if (outstanding.length === 0) return steady;
    const overdueAt = Math.min(...outstanding) + this.overdueAfterMs();
    return Math.min(steady, Math.max(overdueAt, lastSentAt + this.s.fastIntervalMs));
  }

  #rto(): number {
    return this.#srtt === undefined ? this.s.timeoutMs : this.#srtt + 4 * this.#rttvar;
  }
}
