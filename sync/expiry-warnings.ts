// Warnings before the journal's backlog expires: entries pending longer than
// buffer.maxAgeHours become dead letters, so an operator is told while there is
// still time, each time the oldest pending entry passes one of the configured
// fractions of that age (buffer.expiryWarnings). A crossing is reported once,
// not at every look, and the warning clears once the backlog drains below the
// lowest fraction. Pure: the caller looks at the backlog and reports.

/**
 * Share of the max age by which the oldest entry's age must fall back below a
 * fraction before that fraction counts as crossed again. Draining FIFO, each
 * delivered entry leaves a slightly younger one oldest: without the margin, a
 * backlog at the 90 % mark would warn again at every delivery.
 */
export const EXPIRY_HYSTERESIS = 0.05;

/** What a look at the backlog came to: a fraction newly passed, the warning gone, or no news. */
export type ExpiryChange = { kind: 'raised'; fraction: number } | { kind: 'cleared'; fraction: number } | undefined;

export class ExpiryWarnings {
  /** The highest fraction raised and not yet cleared; undefined without a warning. */
  #level: number | undefined;

  /** The fraction the warning stands at (undefined: none). */
  get level(): number | undefined {
    return this.#level;
  }

  /**
   * One look: `oldestAgeS` of the oldest pending entry (0 without a backlog),
   * `maxAgeS` the age at which entries expire, `fractions` the configured
   * warnings (read at every look, so a reload applies).
   */
  observe(oldestAgeS: number, maxAgeS: number, fractions: readonly number[]): ExpiryChange {
    const share = maxAgeS > 0 ? oldestAgeS / maxAgeS : 0;
    const before = this.#level;
    let held: number | undefined;
    for (const f of fractions) {
      // Passed now, or raised before and not yet drained clearly below it.
      const holds = share >= f || (before !== undefined && f <= before && share >= f - EXPIRY_HYSTERESIS);
      if (holds && (held === undefined || f > held)) held = f;
    }
    this.#level = held;
    if (held !== undefined && (before === undefined || held > before)) return { kind: 'raised', fraction: held };
    if (held === undefined && before !== undefined) return { kind: 'cleared', fraction: before };
    return undefined;
  }
}
