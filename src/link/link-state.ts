// UNKNOWN / UP / DEGRADED / DOWN with hysteresis, as mwan3 and SD-WAN SLA
// monitors do. A path is UNKNOWN until its first outcome settles it: a success
// makes it UP (or DEGRADED), `downAfter` failures in a row DOWN. Then DOWN
// after `downAfter` failures in a row; back from DOWN after `upAfter`
// successes in a row *and* `upHoldDownMs` without a failure (a hold-down, as
// routers damp a flapping interface: at the fast probe cadence `upAfter`
// successes alone can take well under a second, so a line that flaps every
// second or two would be declared UP between its drops). DEGRADED as soon as
// the measured quality crosses a threshold, and UP again only after `upAfter`
// clean outcomes in a row, so a link hovering at a threshold does not flap.
// One lost probe never changes the state. Pure: the caller passes the time.
import type { LinkState } from './path-view.js';

export interface Hysteresis {
  downAfter: number;
  upAfter: number;
  /** How long a DOWN path must go without a failure before it may come back. */
  upHoldDownMs: number;
}

export interface StateChange {
  from: LinkState;
  to: LinkState;
}

export interface Outcome {
  ok: boolean;
  /** The quality verdict after this outcome. */
  degraded: boolean;
  /** Whether the quality is also well below the thresholds: only clear outcomes count towards leaving DEGRADED. */
  clear: boolean;
  /** When it happened, in ms on a monotonic clock. */
  at: number;
}

export class LinkStateMachine {
  #state: LinkState = 'unknown';
  #failures = 0;
  #successes = 0;
  /** Outcomes in a row that were successful and within every threshold. */
  #clean = 0;
  #lastFailureAt = Number.NEGATIVE_INFINITY;

  #h: Hysteresis;

  constructor(h: Hysteresis) {
    this.#h = h;
  }

  /** New thresholds (a configuration reload): the state and the runs of outcomes so far are kept. */
  retune(h: Hysteresis): void {
    this.#h = h;
  }

  get state(): LinkState {
    return this.#state;
  }

  /** Whether a success at `at` would bring a DOWN link back (before observe() takes it). */
  recoversWith(ok: boolean, at: number): boolean {
    return this.#state === 'down' && ok && this.#successes + 1 >= this.#h.upAfter && this.#heldDown(at);
  }

  /** One outcome. Returns the change, if any. */
  observe({ ok, degraded, clear, at }: Outcome): StateChange | undefined {
    if (ok) {
      this.#failures = 0;
      this.#successes++;
    } else {
      this.#successes = 0;
      this.#failures++;
      this.#lastFailureAt = at;
    }
    this.#clean = ok && clear ? this.#clean + 1 : 0;
    const from = this.#state;
    const to = this.#next(from, ok, degraded, at);
    this.#state = to;
    return to === from ? undefined : { from, to };
  }

  #next(from: LinkState, ok: boolean, degraded: boolean, at: number): LinkState {
    if (from === 'down') return this.#successes >= this.#h.upAfter && this.#heldDown(at) ? verdict(degraded) : 'down';
    if (this.#failures >= this.#h.downAfter) return 'down';
    // Nothing known yet: the first success settles it, a failure short of downAfter does not.
    if (from === 'unknown') return ok ? verdict(degraded) : 'unknown';
    if (degraded) return 'degraded';
    return from === 'degraded' && this.#clean < this.#h.upAfter ? 'degraded' : 'up';
  }

  #heldDown(at: number): boolean {
    return at - this.#lastFailureAt >= this.#h.upHoldDownMs;
  }
}

const verdict = (degraded: boolean): LinkState => (degraded ? 'degraded' : 'up');
