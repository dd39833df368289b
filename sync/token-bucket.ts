// The drain-rate limit: a token bucket refilled at `ratePerSec`, holding at
// most one second's worth, so a gateway coming back online starts at the
// configured rate instead of releasing a burst at its ERP. Pure (clock injected).

export class TokenBucket {
  #rate: number;
  #tokens: number;
  #last: number;

  constructor(ratePerSec: number, now: number) {
    this.#rate = ratePerSec;
    this.#tokens = Math.min(1, ratePerSec);
    this.#last = now;
  }

  get rate(): number {
    return this.#rate;
  }

  #refill(now: number): void {
    const capacity = Math.max(1, this.#rate);
    this.#tokens = Math.min(capacity, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
  }

  /** Whole tokens available now. */
  available(now: number): number {
    this.#refill(now);
    return Math.floor(this.#tokens);
  }

  take(now: number, n = 1): boolean {
    this.#refill(now);
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Milliseconds until one token is available. */
  msUntilToken(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.#rate) * 1000);
  }

  setRate(ratePerSec: number, now: number): void {
    this.#refill(now);
    this.#rate = ratePerSec;
    // A rate of 0 holds replay: the token left from before must not let one more through.
    this.#tokens = ratePerSec === 0 ? 0 : Math.min(this.#tokens, Math.max(1, ratePerSec));
  }
}
