// The replay rate in force: the gateway's own (its configuration, or what an
// operator set), lowered while a fleet hub's grant runs. A grant only ever
// lowers the rate, and one not renewed before its lease ends lapses by itself,
// so a hub that is gone leaves the gateway at its own rate. Pure (clock injected).

export interface GrantView {
  ratePerSec: number;
  remainingMs: number;
}

export class DrainLimit {
  #own: number;
  #grant: { ratePerSec: number; until: number } | undefined;

  constructor(ownRatePerSec: number) {
    this.#own = ownRatePerSec;
  }

  get own(): number {
    return this.#own;
  }

  setOwn(ratePerSec: number): void {
    this.#own = ratePerSec;
  }

  /** Replaces any earlier grant: the hub's latest word is the one in force. */
  grant(ratePerSec: number, leaseMs: number, now: number): void {
    this.#grant = { ratePerSec, until: now + leaseMs };
  }

  /** The grant in force at `now`, if any. */
  current(now: number): GrantView | undefined {
    if (this.#grant === undefined) return undefined;
    if (now >= this.#grant.until) {
      this.#grant = undefined;
      return undefined;
    }
    return { ratePerSec: this.#grant.ratePerSec, remainingMs: this.#grant.until - now };
  }

  /** The rate replay may start entries at, at `now`. */
  rate(now: number): number {
    const g = this.current(now);
    return g === undefined ? this.#own : Math.min(this.#own, g.ratePerSec);
  }
}
