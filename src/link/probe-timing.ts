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
//
// A probe rides TCP, and TCP hides a lost packet: it resends it and the
// answer comes late instead of never. Linux resends a lone segment no sooner
// than 200 ms after it went (its minimum RTO, and its tail-loss probe for a
// single segment), so on a 3 ms line a probe that lost its request or its
// answer takes 200 ms or more, well inside the 400 ms deadline floor. Such an
// answer is judged retransmitted: later than both the path's own deadline
// estimate and its recent fastest round trip plus RETRANSMIT_MS. The link
// monitor counts it as the loss a datagram probe would have seen; without
// that a link dropping 10 % of its packets read as a clean one with the odd
// slow answer.

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
/** What a retransmission adds at the least (Linux's 200 ms minimum RTO), less room for measuring. */
const RETRANSMIT_MS = 180;
/** Timed answers the path's fastest recent round trip is taken over (10 s at the steady cadence). */
const FLOOR_SAMPLES = 20;
/**
 * Round trips an answer on a new connection may take besides its own: TCP's
 * handshake, a WireGuard handshake still pending and TLS 1.3's.
 */
const SET_UP_ROUND_TRIPS = 3;

export class ProbeTiming {
  #srtt: number | undefined;
  #rttvar = 0;
  #backoff = 1;
  /** The last FLOOR_SAMPLES timed round trips. */
  readonly #recent: number[] = [];

  constructor(private readonly s: ProbeTimingSettings) {}

  /**
   * A probe answered after `rttMs`; without it, an answer whose time is not
   * the path's round trip (it included connection set-up): it ends the
   * backoff but does not shape the deadlines.
   */
  answered(rttMs?: number): void {
    this.#backoff = 1;
    if (rttMs === undefined) return;
    this.#recent.push(rttMs);
    if (this.#recent.length > FLOOR_SAMPLES) this.#recent.shift();
    if (this.#srtt === undefined) {
      this.#srtt = rttMs;
      this.#rttvar = rttMs / 2;
    } else {
      this.#rttvar = (1 - BETA) * this.#rttvar + BETA * Math.abs(this.#srtt - rttMs);
      this.#srtt = (1 - ALPHA) * this.#srtt + ALPHA * rttMs;
    }
  }

  /**
   * Whether an answer after `rttMs` must have had a packet resent (see the
   * top). `setUp`: its time included opening a connection, which may take
   * SET_UP_ROUND_TRIPS more. Before any timed answer nothing is known of the
   * path: false. Call before answered() records the same answer.
   */
  retransmitted(rttMs: number, setUp = false): boolean {
    if (this.#srtt === undefined) return false;
    const floor = Math.min(...this.#recent);
    return rttMs > Math.max(this.#rto(), floor + RETRANSMIT_MS) + (setUp ? SET_UP_ROUND_TRIPS * floor : 0);
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
