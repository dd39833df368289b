// Link quality from probe and request outcomes: RTT (EWMA and recent
// percentiles), jitter as RFC 3550 §6.4.1 defines it for interarrival
// variation (here applied to successive round-trip times), loss over a sliding
// window, and a 0–100 score. Pure.
//
// Entering DEGRADED takes little evidence and leaving it takes much: a
// handful of outcomes tells a bad link quickly, but telling a link losing 10%
// from one losing under 4% takes more than 20 of them (a 10% link shows 25
// clean outcomes in a row one time in 14). So leaving DEGRADED is judged over
// twice the window, at half the loss.
//
// A probe that had to open its connection first (TCP, and through a tunnel
// whose WireGuard handshake is still pending, that handshake too) took
// set-up time the link's round trip does not have: it counts as answered, for
// loss, but not towards RTT, its percentiles or jitter. Seeding the EWMA with
// it would read high for tens of seconds after start. For the same reason the
// EWMA is seeded with the median of the first SEED_SAMPLES timed answers, not
// with the first alone: at α = 0.2 a seed twenty times too high still shows
// double 15 samples (7 s) later, and the first answers of a path are the ones
// most likely slowed by something other than the link (set-up the pool does
// not report, the gateway's own start-up work, a host busy with other things).

export interface QualitySnapshot {
  /** The EWMA: what DEGRADED and the score judge. */
  rttMs: number | undefined;
  /** The median and p95 of the window's timed answers: one slow answer moves the EWMA, not the median. */
  rttP50Ms: number | undefined;
  rttP95Ms: number | undefined;
  jitterMs: number;
  lossPct: number;
  score: number;
  samples: number;
}

export interface DegradedThresholds {
  rttMs: number;
  lossPct: number;
  jitterMs: number;
}

const EWMA_ALPHA = 0.2;
const SEED_SAMPLES = 3;

/** An outcome in the window: a timed answer (its RTT), an answer without a usable time, or a loss (null). */
type Outcome = number | 'untimed' | null;

export class LinkQuality {
  /** The last 2 × windowSize outcomes, oldest first. */
  readonly #outcomes: Outcome[] = [];
  #ewma: number | undefined;
  /** Timed RTTs while there are too few to seed the EWMA. */
  readonly #seed: number[] = [];
  #jitter = 0;
  #lastRtt: number | undefined;

  constructor(private readonly windowSize = 20) {}

  /** A completed probe or request (its RTT), or a lost one (null). */
  record(rttMs: number | null): void {
    this.#push(rttMs);
    if (rttMs === null) return;
    if (this.#ewma === undefined) {
      this.#seed.push(rttMs);
      if (this.#seed.length < SEED_SAMPLES) return;
      // The seed stands for its samples: jitter counts from it too.
      this.#ewma = this.#lastRtt = nearestRank([...this.#seed].sort((a, b) => a - b), 0.5)!;
      return;
    }
    this.#ewma += EWMA_ALPHA * (rttMs - this.#ewma);
    // RFC 3550: J += (|D| - J) / 16
    if (this.#lastRtt !== undefined) this.#jitter += (Math.abs(rttMs - this.#lastRtt) - this.#jitter) / 16;
    this.#lastRtt = rttMs;
  }

  /** An answer whose time included connection set-up: it counts against loss, not as a round trip. */
  recordUntimed(): void {
    this.#push('untimed');
  }

  #push(outcome: Outcome): void {
    this.#outcomes.push(outcome);
    if (this.#outcomes.length > 2 * this.windowSize) this.#outcomes.shift();
  }

  /**
   * Drops the lost probes from the window: those of an outage that is over
   * were the outage, already answered by DOWN, not the quality of the link
   * that came back.
   */
  forgetLosses(): void {
    const kept = this.#outcomes.filter((v) => v !== null);
    this.#outcomes.length = 0;
    this.#outcomes.push(...kept);
  }

  snapshot(t: DegradedThresholds): QualitySnapshot {
    const window = this.#window();
    const ok = window.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
    const lossPct = lossPctOf(window);
    return { rttMs: this.#ewma, rttP50Ms: nearestRank(ok, 0.5), rttP95Ms: nearestRank(ok, 0.95), jitterMs: this.#jitter, lossPct, score: score(this.#ewma, this.#jitter, lossPct, t), samples: window.length };
  }

  /** The score alone: path choice reads it on every request, and needs no percentiles (their sort). */
  score(t: DegradedThresholds): number {
    return score(this.#ewma, this.#jitter, lossPctOf(this.#window()), t);
  }

  /**
   * Whether the link crosses any DEGRADED threshold now. Without the
   * snapshot's percentiles (their sort): the monitor asks on every request's
   * outcome on a probed path, as it does isClear().
   */
  isDegraded(t: DegradedThresholds): boolean {
    return (this.#ewma ?? 0) > t.rttMs || this.#jitter > t.jitterMs || lossPctOf(this.#window()) > t.lossPct;
  }

  #window(): Outcome[] {
    return this.#outcomes.slice(-this.windowSize);
  }

  /**
   * Whether the link is clear of DEGRADED: RTT and jitter below CLEAR_RATIO
   * of their thresholds, and the loss over twice the window below half of
   * its threshold (with the defaults, 40 outcomes without a loss).
   */
  isClear(t: DegradedThresholds): boolean {
    return (this.#ewma ?? 0) <= t.rttMs * CLEAR_RATIO && this.#jitter <= t.jitterMs * CLEAR_RATIO && lossPctOf(this.#outcomes) < t.lossPct * RECOVERY_LOSS_RATIO;
  }
}

/** The nearest-rank percentile `q` of ascending `sorted` (at 0.5, of the odd SEED_SAMPLES, the median); undefined when empty. */
function nearestRank(sorted: readonly number[], q: number): number | undefined {
  return sorted.length === 0 ? undefined : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

function lossPctOf(outcomes: readonly Outcome[]): number {
  if (outcomes.length === 0) return 0;
  return (100 * outcomes.filter((v) => v === null).length) / outcomes.length;
}

/**
 * 100 for a clean link; each measure takes off up to its share as it climbs to
 * twice its DEGRADED threshold (loss 50, RTT 30, jitter 20). A link exactly
 * at all three thresholds scores 50; a dead one 0.
 */
export function score(rttMs: number | undefined, jitterMs: number, lossPct: number, t: DegradedThresholds): number {
  if (rttMs === undefined) return lossPct > 0 ? 0 : 100;
  const part = (value: number, threshold: number, weight: number) => weight * Math.min(1, value / (2 * threshold));
  return Math.max(0, Math.round(100 - part(lossPct, t.lossPct, 50) - part(rttMs, t.rttMs, 30) - part(jitterMs, t.jitterMs, 20)));
}

/**
 * A link leaves DEGRADED only once RTT and jitter are this far below their
 * thresholds (a Schmitt trigger): one hovering at a threshold stays put.
 */
const CLEAR_RATIO = 0.8;
/** The same for loss, measured over twice the window (see the top). */
const RECOVERY_LOSS_RATIO = 0.5;

