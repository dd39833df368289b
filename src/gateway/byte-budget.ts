// ERP first in bytes, not only in slots: how many bulk bytes a path may have
// in flight. The slot scheduler decides who is sent next, but a bulk answer
// already sent sits in the link's queue (the shaper, the modem, the far end of
// the tunnel) ahead of any checkout answered after it, and no slot order can
// reach it there. So a bulk request is granted only while the bulk bytes still
// to come over the path would take the link at most `targetMs` to deliver, at
// the rate the path has been seen to carry (throughput.ts): the link's queue
// then holds about targetMs of bulk, plus at most one answer, instead of every
// bulk answer that has a slot. While critical work waits on the path, no bulk
// request is granted and the bulk answers' reading is held (bytes.ts), so TCP
// holds their senders; when it is done both go on at once, at the rate and
// budget they had. Pure: the caller supplies the clock.
import { ThroughputEstimator } from './throughput.js';

/** A bulk answer being read. */
export interface BulkAnswer {
  /** Its Content-Length; undefined when the ERP did not say (chunked). */
  readonly declared: number | undefined;
  read: number;
  /**
   * Its next bytes came in while the clock stood, so neither they nor the
   * time until them count towards the rate: it started while no other bulk
   * answer was being read (they crossed the link since its request went, a
   * moment not known here), or its connection's reading was held (they
   * crossed during the hold, whose time is not counted).
   */
  unclocked: boolean;
}

/** Weight of the latest bulk answer in the expected size of the next one. */
const SIZE_ALPHA = 0.25;
export class ByteBudget {
  readonly #estimator = new ThroughputEstimator();
  readonly #answers = new Set<BulkAnswer>();
  /** Expected size of a bulk answer whose headers have not come yet (mean of recent ones). */
  #expected: number | undefined;
  /** Up to when the busy time has been counted. */
  #clock = 0;
  /** Since when critical work has waited on the path, or undefined. */
  #criticalSince: number | undefined;

  /**
   * @param targetMs how long the bulk bytes in flight may take the link to deliver
   * @param maxHoldMs how long reading may be held for one spell of critical work: a slow ERP answer must not stall bulk downloads into their idle timeout
   */
  constructor(
    private readonly targetMs: number,
    private readonly maxHoldMs: number,
  ) {}

  /** The path's usable throughput in bytes per second; undefined until measured. */
  get bytesPerSecond(): number | undefined {
    return this.#estimator.bytesPerSecond;
  }

  /**
   * Whether one more bulk request may be sent, `heldBulk` holding slots now.
   * One always may when none is in flight: bulk is slowed, never starved. On
   * a path not measured yet only that one: a flood's first grants, all at
   * once, would put one answer per slot in the link's queue (1.5 s of it at
   * 512 kbit/s), and the first tenth of a second of busy time measures it.
   * Measured means an answer's size too, read whole: until then a request
   * not answered yet would count as no bytes, and the grants made while the
   * first answer's last bytes are read would be one per slot again.
   */
  admits(heldBulk: number): boolean {
    if (heldBulk === 0) return true;
    if (this.#criticalSince !== undefined) return false;
    const rate = this.#estimator.bytesPerSecond;
    if (rate === undefined || this.#expected === undefined) return false;
    // Nothing goes behind an answer of unknown length: the next request may be
    // pipelined behind it (upstreams.ts) and wait for all of it, and a deadline
    // of that request's running out would break the answer ahead on the way.
    for (const a of this.#answers) if (a.declared === undefined) return false;
    return this.outstanding(heldBulk) < (rate * this.targetMs) / 1000;
  }

  /** Bulk bytes still to come: what the answers being read have left, and an expected answer for each request not answered yet. */
  outstanding(heldBulk: number): number {
    const expected = this.#expected ?? 0;
    let bytes = Math.max(0, heldBulk - this.#answers.size) * expected;
    for (const a of this.#answers) bytes += Math.max(0, (a.declared ?? expected) - a.read);
    return bytes;
  }

  /**
   * The receive window each bulk connection gets (receive-window.ts): the
   * budget's bytes shared by the answers being read, so that what the far end
   * may have in flight towards the gateway, the link's queue included, is the
   * budget and not a whole answer per connection; and a held answer stops
   * crossing the link within one window. Each connection is given at least
   * one full segment (bytes.ts): less, and the kernel announces none. Undefined
   * until the path is measured: its first answer comes at the kernel's window
   * and measures it.
   */
  windowBytes(): number | undefined {
    const rate = this.#estimator.bytesPerSecond;
    if (rate === undefined) return undefined;
    return Math.max(1, Math.round((rate * this.targetMs) / 1000 / Math.max(1, this.#answers.size)));
  }

  /** Whether bulk answers' reading is held now. */
  holds(now: number): boolean {
    return this.#criticalSince !== undefined && now - this.#criticalSince < this.maxHoldMs;
  }

  /** When a hold that started now ends by itself (the lane's timer); undefined when nothing is held. */
  holdEnds(): number | undefined {
    return this.#criticalSince === undefined ? undefined : this.#criticalSince + this.maxHoldMs;
  }

  /** Critical work queued or in flight on the path, or none any more. */
  setCritical(waiting: boolean, now: number): void {
    if (waiting === (this.#criticalSince !== undefined)) return;
    // The busy time up to here is of one kind, held or not.
    this.#tick(0, now);
    this.#criticalSince = waiting ? now : undefined;
  }

  /** Reading goes on after a hold (critical work done, or maxHoldMs reached): what the held connections took in meanwhile is read now. */
  holdEnded(now: number): void {
    this.#tick(0, now);
    for (const a of this.#answers) a.unclocked = true;
  }

  started(declared: number | undefined, now: number): BulkAnswer {
    this.#tick(0, now);
    const answer: BulkAnswer = { declared, read: 0, unclocked: this.#answers.size === 0 };
    this.#answers.add(answer);
    return answer;
  }

  read(answer: BulkAnswer, bytes: number, now: number): void {
    answer.read += bytes;
    if (!answer.unclocked) return this.#tick(bytes, now);
    answer.unclocked = false;
    // Alone, the clock starts at its first bytes; beside answers started since, it runs for them.
    if (this.#answers.size > 1) this.#tick(0, now);
    else this.#clock = now;
  }

  /** The answer was read whole, or abandoned. */
  ended(answer: BulkAnswer, now: number): void {
    if (!this.#answers.delete(answer)) return;
    this.#tick(0, now);
    this.#expected = this.#expected === undefined ? answer.read : this.#expected + SIZE_ALPHA * (answer.read - this.#expected);
  }

  /**
   * Counts busy time (some answer being read) up to now, with the bytes read
   * meanwhile, but not a hold's time: no bulk crosses the link then (bytes.ts
   * stops reading it), and counting it would take the critical answers' time
   * for a slower link. What came in during a hold is left out with it
   * (holdEnded).
   */
  #tick(bytes: number, now: number): void {
    const unheld = Math.max(0, now - this.#clock) - this.#heldBetween(this.#clock, now);
    if (this.#answers.size > 0 && unheld > 0) this.#estimator.add(bytes, unheld);
    this.#clock = now;
  }

  /** How long of [from, to] the current spell of critical work held reading. */
  #heldBetween(from: number, to: number): number {
    if (this.#criticalSince === undefined) return 0;
    return Math.max(0, Math.min(to, this.#criticalSince + this.maxHoldMs) - Math.max(from, this.#criticalSince));
  }
}
