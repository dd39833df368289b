// UP / DEGRADED / DOWN with hysteresis, as mwan3 and SD-WAN SLA monitors do:
// DOWN after `downAfter` failures in a row, back after `upAfter` successes in a
// row; DEGRADED as soon as the measured quality crosses a threshold, and UP
// again only after `upAfter` clean outcomes in a row, so a link hovering at a
// threshold does not flap. One lost probe never changes the state. Pure.
import type { LinkState } from './path-view.js';

export interface Hysteresis {
  downAfter: number;
  upAfter: number;
}

export interface StateChange {
  from: LinkState;
  to: LinkState;
}

export class LinkStateMachine {
  #state: LinkState = 'up';
  #failures = 0;
  #successes = 0;
  /** Outcomes in a row that were successful and within every threshold. */
  #clean = 0;

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

  /** Whether this outcome would bring a DOWN link back (before observe() takes it). */
  recoversWith(ok: boolean): boolean {
    return this.#state === 'down' && ok && this.#successes + 1 >= this.#h.upAfter;
  }

  /**
   * One outcome; `degraded` is the quality verdict after it, `clear` whether
   * the quality is also well below the thresholds (only clear outcomes count
   * towards leaving DEGRADED). Returns the change, if any.
   */
  observe(ok: boolean, degraded: boolean, clear = !degraded): StateChange | undefined {
    if (ok) {
      this.#failures = 0;
      this.#successes++;
    } else {
      this.#successes = 0;
      this.#failures++;
    }
    this.#clean = ok && clear ? this.#clean + 1 : 0;
    const from = this.#state;
    let to = from;
    if (from === 'down') {
      if (this.#successes >= this.#h.upAfter) to = degraded ? 'degraded' : 'up';
    } else if (this.#failures >= this.#h.downAfter) {
      to = 'down';
    } else if (degraded) {
      to = 'degraded';
    } else if (from === 'degraded' && this.#clean < this.#h.upAfter) {
      to = 'degraded';
    } else {
      to = 'up';
    }
    this.#state = to;
    return to === from ? undefined : { from, to };
  }
}
