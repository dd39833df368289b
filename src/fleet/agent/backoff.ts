// When to dial the hub again. Full jitter (AWS Architecture Blog, "Exponential
// Backoff And Jitter"): a random wait between 0 and the exponential ceiling, so
// a fleet that lost the hub at the same moment does not come back in step. Pure.

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

/** The wait before dial number `failures + 1`, after `failures` failed dials in a row (0: the first redial). */
export function reconnectDelay(failures: number, s: BackoffSettings, random: () => number = Math.random): number {
  // 2^31 already exceeds any sane cap; the clamp keeps the power finite.
  const ceiling = Math.min(s.maxMs, s.baseMs * 2 ** Math.min(failures, 31));
  return Math.floor(random() * ceiling);
}

/**
 * The wait after the hub refused the token: an operator has to act, so dialling
 * faster would only fill the hub's log. The cap, with a little jitter so a
 * fleet whose tokens were all rotated does not retry in step.
 */
export function refusedDelay(s: BackoffSettings, random: () => number = Math.random): number {
  return Math.floor(s.maxMs * (0.9 + 0.1 * random()));
}
