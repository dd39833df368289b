// A journal clock (sync/journal-clock.ts) that a test moves by hand: time
// passing moves both clocks, a wall-clock step moves the wall clock alone (as
// NTP's does), and a reboot starts another boot's monotonic clock.
import type { Instant, JournalClock } from '../../sync/journal-clock.js';

export class TestClock implements JournalClock {
  bootId: string;
  #wall: number;
  #mono: number;

  /** Both clocks read `at`, on boot `bootId`. */
  constructor(at = 0, bootId = 'boot-1') {
    this.#wall = at;
    this.#mono = at;
    this.bootId = bootId;
  }

  now(): Instant {
    return { wall: this.#wall, mono: this.#mono };
  }

  /** Time passes until the monotonic clock reads `mono`. */
  at(mono: number): void {
    this.advance(mono - this.#mono);
  }

  /** `ms` pass, on both clocks. */
  advance(ms: number): void {
    this.#wall += ms;
    this.#mono += ms;
  }

  /** The wall clock steps by `ms`; the monotonic clock does not. */
  step(ms: number): void {
    this.#wall += ms;
  }

  /** A reboot `offMs` after now (on the wall clock): boot `bootId`, whose monotonic clock reads `mono`. */
  reboot(bootId: string, mono: number, offMs: number): void {
    this.bootId = bootId;
    this.#mono = mono;
    this.#wall += offMs;
  }
}
