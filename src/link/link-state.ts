// UP / DEGRADED / DOWN with hysteresis, as mwan3 and SD-WAN SLA monitors do:
// DOWN after `downAfter` failures in a row, back after `upAfter` successes in a
// row; DEGRADED while the measured quality crosses a threshold. One lost probe
// never changes the state. Pure.
import type { LinkState } from '../gateway/path-choice.js';

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

  constructor(private readonly h: Hysteresis) {}

  get state(): LinkState {
    return this.#state;
  }

  /** One outcome; `degraded` is the quality verdict after it. Returns the change, if any. */
  observe(ok: boolean, degraded: boolean): StateChange | undefined {
    if (ok) {
      this.#failures = 0;
      this.#successes++;
    } else {
      this.#successes = 0;
      this.#failures++;
    }
    const from = this.#state;
    let to = from;
    if (from === 'down') {
      if (this.#successes >= this.h.upAfter) to = degraded ? 'degraded' : 'up';
    } else if (this.#failures >= this.h.downAfter) {
      to = 'down';
    } else {
      to = degraded ? 'degraded' : 'up';
    }
    this.#state = to;
    return to === from ? undefined : { from, to };
  }
}
