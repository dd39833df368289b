// Who goes next on a path whose slots are all taken. Pure: no timers, no I/O
// (slots.ts adds the waiting and the deadlines).
//
// - critical is served first, strictly, and has slots of its own that the
//   other classes can never take, so a checkout never waits behind a flood;
// - interactive, normal and bulk share the rest by weight (stride scheduling,
//   weight 4/2/1 from their priorities), so bulk is slowed, never starved;
// - replay traffic of a class waits behind live traffic of that class and of
//   every class above it;
// - on a DEGRADED path a class may hold only its `degradedShare` of the slots
//   (0 pauses it there);
// - with a bulk gate (byte-budget.ts), a bulk request also waits while the
//   path's bulk bytes in flight are over budget or critical work waits.
import type { ClassName } from '../../edge-config/schema.js';

export type Kind = 'live' | 'replay';

export interface SchedulerSettings {
  maxInFlight: number;
  /** Slots only critical may use. */
  reservedCritical: number;
  /** Priority per class (0 first), for the order of classes and their weights. */
  priority: Record<ClassName, number>;
  /** Share of maxInFlight a class may hold while the path is DEGRADED (0..1). */
  degradedShare: Record<ClassName, number>;
}

export interface Waiter {
  cls: ClassName;
  kind: Kind;
  /** Called once, when the waiter gets its slot. */
  grant(): void;
}

/** A limit on bulk beyond the slots: asked before each bulk grant, told when critical work starts and stops waiting. */
export interface BulkGate {
  admitsBulk(heldBulk: number): boolean;
  /** Critical requests are queued or in flight on the path (true), or none are any more (false). */
  criticalWaiting(waiting: boolean): void;
}

const CLASSES: readonly ClassName[] = ['critical', 'interactive', 'normal', 'bulk'];
const STRIDE = 1 << 20;

/** What slots.ts needs of a scheduler. */
export interface Scheduler {
  readonly inFlight: number;
  depth(cls: ClassName): number;
  setDegraded(degraded: boolean): void;
  enqueue(w: Waiter): void;
  cancel(w: Waiter): boolean;
  release(cls: ClassName): void;
}

/** A class's waiters, live and replay apart; on every request's path, so kept without string keys or recounting. */
interface ClassQueues {
  live: Waiter[];
  replay: Waiter[];
}

export class SlotScheduler implements Scheduler {
  readonly #s: SchedulerSettings;
  readonly #queues: Record<ClassName, ClassQueues> = { critical: queues(), interactive: queues(), normal: queues(), bulk: queues() };
  readonly #held: Record<ClassName, number> = { critical: 0, interactive: 0, normal: 0, bulk: 0 };
  /** Stride scheduling's virtual time per shared class. */
  readonly #pass: Record<ClassName, number> = { critical: 0, interactive: 0, normal: 0, bulk: 0 };
  /** The classes that share the unreserved slots, highest priority first. */
  readonly #shared: readonly ClassName[];
  /** Per class, the classes whose live traffic a replay of it waits behind: critical and every class of higher priority. */
  readonly #above: Record<ClassName, readonly ClassName[]>;
  #degraded = false;
  readonly #gate: BulkGate | undefined;
  #criticalWaiting = false;

  constructor(settings: SchedulerSettings, gate?: BulkGate) {
    this.#s = settings;
    this.#gate = gate;
    this.#shared = CLASSES.filter((c) => c !== 'critical').sort((a, b) => settings.priority[a] - settings.priority[b]);
    const above = (cls: ClassName) => CLASSES.filter((c) => c !== cls && (c === 'critical' || settings.priority[c] < settings.priority[cls]));
    this.#above = { critical: above('critical'), interactive: above('interactive'), normal: above('normal'), bulk: above('bulk') };
  }

  get inFlight(): number {
    const h = this.#held;
    return h.critical + h.interactive + h.normal + h.bulk;
  }

  /** Waiting requests of a class (live and replay). */
  depth(cls: ClassName): number {
    const q = this.#queues[cls];
    return q.live.length + q.replay.length;
  }

  /** Whether a class may be sent over this path at all now (not paused by DEGRADED). */
  admits(cls: ClassName): boolean {
    return !this.#degraded || this.#s.degradedShare[cls] > 0;
  }

  setDegraded(degraded: boolean): void {
    if (degraded === this.#degraded) return;
    this.#degraded = degraded;
    this.#dispatch();
  }

  /** Queues a waiter; grants it at once when it is next and a slot is free. */
  enqueue(w: Waiter): void {
    // A class that was idle rejoins at the current virtual time, not with credit saved while idle.
    if (this.depth(w.cls) === 0) this.#pass[w.cls] = Math.max(this.#pass[w.cls], this.#minPass());
    this.#queues[w.cls][w.kind].push(w);
    this.#dispatch();
  }

  /** Removes a waiter that gave up (its deadline passed). True when it was still waiting. */
  cancel(w: Waiter): boolean {
    const q = this.#queues[w.cls][w.kind];
    const i = q.indexOf(w);
    if (i === -1) return false;
    q.splice(i, 1);
    this.#tellGate();
    return true;
  }

  /** A granted request finished: its slot goes to whoever is next. */
  release(cls: ClassName): void {
    if (this.#held[cls] > 0) this.#held[cls]--;
    this.#dispatch();
  }

  /** The gate's limit moved (bulk bytes were read, critical work ended): grants what it now admits. */
  wake(): void {
    this.#dispatch();
  }

  #dispatch(): void {
    for (;;) {
      const next = this.#next();
      if (!next) return;
      this.#held[next.cls]++;
      if (next.cls !== 'critical') this.#pass[next.cls] += STRIDE / weight(this.#s.priority[next.cls]);
      next.grant();
    }
  }

  #next(): Waiter | undefined {
    // Before each grant, so a bulk request is not granted in the same turn as the critical one that stops it.
    this.#tellGate();
    if (this.inFlight >= this.#s.maxInFlight) return undefined;
    const critical = this.#head('critical', false);
    if (critical) return critical;
    // Among the shared classes with someone eligible and room: the lowest virtual time.
    let best: ClassName | undefined;
    for (const cls of this.#shared) {
      if (this.#fits(cls) && this.#eligible(cls) && (best === undefined || this.#pass[cls] < this.#pass[best])) best = cls;
    }
    return best && this.#head(best, this.#liveAbove(best));
  }

  #eligible(cls: ClassName): boolean {
    const q = this.#queues[cls];
    return q.live.length > 0 || (q.replay.length > 0 && !this.#liveAbove(cls));
  }

  /** The first eligible waiter of a class: live first; replay only when no live traffic of it or above waits. */
  #head(cls: ClassName, liveAbove: boolean): Waiter | undefined {
    const q = this.#queues[cls];
    if (q.live.length > 0) return q.live.shift();
    if (liveAbove) return undefined;
    return q.replay.shift();
  }

  #liveAbove(cls: ClassName): boolean {
    return this.#above[cls].some((c) => this.#queues[c].live.length > 0);
  }

  #tellGate(): void {
    // Run before every grant: a path without a gate pays nothing for it.
    if (!this.#gate) return;
    const waiting = this.#held.critical > 0 || this.depth('critical') > 0;
    if (waiting === this.#criticalWaiting) return;
    this.#criticalWaiting = waiting;
    this.#gate.criticalWaiting(waiting);
  }

  #fits(cls: ClassName): boolean {
    if (this.depth(cls) === 0) return false;
    if (cls === 'bulk' && this.#gate && !this.#gate.admitsBulk(this.#held.bulk)) return false;
    const shared = this.#s.maxInFlight - this.#s.reservedCritical;
    const held = this.inFlight - this.#held.critical;
    if (held >= shared) return false;
    if (!this.#degraded) return true;
    return this.#held[cls] < Math.floor(this.#s.maxInFlight * this.#s.degradedShare[cls]);
  }

  #minPass(): number {
    let min = Infinity;
    for (const c of this.#shared) if (this.depth(c) > 0) min = Math.min(min, this.#pass[c]);
    return min === Infinity ? 0 : min;
  }
}

const queues = (): ClassQueues => ({ live: [], replay: [] });

/** Weight from priority: each step up doubles the share (interactive 4, normal 2, bulk 1 by default). */
function weight(priority: number): number {
  return 2 ** Math.max(0, 3 - priority);
}

/**
 * One queue in arrival order, no classes: what a plain proxy's connection
 * pool does. Kept as `queueing: fifo` to compare against and to rule the
 * scheduler out when troubleshooting.
 */
export class FifoScheduler implements Scheduler {
  readonly #queue: Waiter[] = [];
  #inFlight = 0;

  constructor(private readonly maxInFlight: number) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  depth(cls: ClassName): number {
    return this.#queue.filter((w) => w.cls === cls).length;
  }

  setDegraded(): void {}

  enqueue(w: Waiter): void {
    this.#queue.push(w);
    this.#dispatch();
  }

  cancel(w: Waiter): boolean {
    const i = this.#queue.indexOf(w);
    if (i === -1) return false;
    this.#queue.splice(i, 1);
    return true;
  }

  release(): void {
    if (this.#inFlight > 0) this.#inFlight--;
    this.#dispatch();
  }

  #dispatch(): void {
    while (this.#inFlight < this.maxInFlight && this.#queue.length > 0) {
      this.#inFlight++;
      this.#queue.shift()!.grant();
    }
  }
}
