// Link quality from probe and request outcomes: RTT (EWMA and recent
// percentiles), jitter as RFC 3550 §6.4.1 defines it for interarrival
// variation (here applied to successive round-trip times), loss over a sliding
// window, and a 0–100 score. Pure.

export interface QualitySnapshot {
  rttMs: number | undefined;
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

export class LinkQuality {
  readonly #window: (number | null)[] = [];
  #ewma: number | undefined;
  #jitter = 0;
  #lastRtt: number | undefined;

  constructor(private readonly windowSize = 20) {}

  /** A completed probe or request (its RTT), or a lost one (null). */
  record(rttMs: number | null): void {
    this.#window.push(rttMs);
    if (this.#window.length > this.windowSize) this.#window.shift();
    if (rttMs === null) return;
    this.#ewma = this.#ewma === undefined ? rttMs : this.#ewma + EWMA_ALPHA * (rttMs - this.#ewma);
    // RFC 3550: J += (|D| - J) / 16
    if (this.#lastRtt !== undefined) this.#jitter += (Math.abs(rttMs - this.#lastRtt) - this.#jitter) / 16;
    this.#lastRtt = rttMs;
  }

  /**
   * Drops the lost probes from the window: those of an outage that is over
   * were the outage, already answered by DOWN, not the quality of the link
   * that came back.
   */
  forgetLosses(): void {
    const kept = this.#window.filter((v) => v !== null);
    this.#window.length = 0;
    this.#window.push(...kept);
  }

  snapshot(t: DegradedThresholds): QualitySnapshot {
    const ok = this.#window.filter((v): v is number => v !== null).sort((a, b) => a - b);
    const lossPct = this.#window.length === 0 ? 0 : (100 * (this.#window.length - ok.length)) / this.#window.length;
    const p95 = ok.length === 0 ? undefined : ok[Math.min(ok.length - 1, Math.ceil(0.95 * ok.length) - 1)];
    return { rttMs: this.#ewma, rttP95Ms: p95, jitterMs: this.#jitter, lossPct, score: score(this.#ewma, this.#jitter, lossPct, t), samples: this.#window.length };
  }
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
 * A link leaves DEGRADED only once every measure is this far below its
 * threshold (a Schmitt trigger): one hovering at a threshold stays put.
 */
const CLEAR_RATIO = 0.8;

/** Whether a snapshot is clear of DEGRADED: every measure below CLEAR_RATIO of its threshold. */
export function isClear(q: QualitySnapshot, t: DegradedThresholds): boolean {
  return !isDegraded(q, { rttMs: t.rttMs * CLEAR_RATIO, lossPct: t.lossPct * CLEAR_RATIO, jitterMs: t.jitterMs * CLEAR_RATIO });
}

/** Whether a snapshot crosses any DEGRADED threshold. */
export function isDegraded(q: QualitySnapshot, t: DegradedThresholds): boolean {
  return (q.rttMs ?? 0) > t.rttMs || q.lossPct > t.lossPct || q.jitterMs > t.jitterMs;
}
