// The per-connection message limit: a token bucket (a burst, then a steady
// rate), and a count of refused messages per 10 s window so that a gateway
// that keeps flooding is disconnected instead of answered forever. Pure (clock
// injected).

export interface RateLimitSettings {
  messagesPerSec: number;
  burst: number;
  closeAfterRejects: number;
}

export type RateVerdict = 'ok' | 'reject' | 'close';

const WINDOW_MS = 10_000;

export class MessageRateLimit {
  readonly #s: RateLimitSettings;
  #tokens: number;
  #last: number;
  #windowStart: number;
  #rejects = 0;

  constructor(settings: RateLimitSettings, now: number) {
    this.#s = settings;
    this.#tokens = settings.burst;
    this.#last = now;
    this.#windowStart = now;
  }

  take(now: number): RateVerdict {
    this.#tokens = Math.min(this.#s.burst, this.#tokens + ((now - this.#last) / 1000) * this.#s.messagesPerSec);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 'ok';
    }
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#windowStart = now;
      this.#rejects = 0;
    }
    this.#rejects += 1;
    return this.#rejects > this.#s.closeAfterRejects ? 'close' : 'reject';
  }
}
