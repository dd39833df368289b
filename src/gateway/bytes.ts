// The I/O side of a path's byte budget (byte-budget.ts): the bytes of bulk
// answers are counted as they are read, and while critical work waits on the
// path the answers are passed on no further. Reading held, the answer's stream fills, undici
// stops reading its socket, the kernel's receive buffer fills and TCP's window
// closes: the ERP's side stops sending bulk into the link until the critical
// answer is through. Bulk has connections of its own (upstreams.ts), whose
// receive window is the budget's (receive-window.ts): without it, a whole
// answer fits in the kernel's window, is in the link's queue before any
// holding can matter, and every checkout answered meanwhile waits behind it.
// The scheduler asks the lane before each bulk grant.
import type { Socket } from 'node:net';
import { Transform, pipeline, type Readable } from 'node:stream';
import type { buildConnector } from 'undici';
import { ByteBudget } from './byte-budget.js';
import { leastWindow, segmentSize, setReceiveWindow, windowStep } from './receive-window.js';
import type { BulkGate } from './scheduler.js';

/** A window change smaller than this share of the last one is not worth a system call per connection. */
const WINDOW_STEP = 1 / 8;

export class BulkLane implements BulkGate {
  readonly #budget: ByteBudget;
  /** Held chunks' callbacks, called when the hold ends. */
  readonly #held = new Set<() => void>();
  #holdTimer: NodeJS.Timeout | undefined;
  /** The bulk connections open now, each with the least window it may get (one full segment); and the budget's window. */
  readonly #sockets = new Map<Socket, number>();
  #window: number | undefined;
  /** The step this host announces windows in: read once, as the kernel chose it at each connect from the same settings. */
  readonly #step = windowStep();
  /** Grants what the budget admits now (the scheduler's wake, set once the scheduler exists). */
  wake: () => void = () => undefined;

  constructor(settings: { targetMs: number; maxHoldMs: number }) {
    this.#budget = new ByteBudget(settings.targetMs, settings.maxHoldMs);
  }

  admitsBulk(heldBulk: number): boolean {
    return this.#budget.admits(heldBulk);
  }

  criticalWaiting(waiting: boolean): void {
    this.#budget.setCritical(waiting, performance.now());
    if (waiting) return;
    // Back to full speed at once: held answers go on (after the scheduler's
    // turn that called this, so their reading does not wake it within itself).
    queueMicrotask(() => this.#letGo());
  }

  /** The bulk connections' connector: `connect`'s, each socket kept at the budget's receive window while it is open. */
  connector(connect: buildConnector.connector): buildConnector.connector {
    return (opts, callback) =>
      connect(opts, (err, socket) => {
        if (socket) {
          const s = socket as Socket;
          const mss = segmentSize(s);
          const least = mss === undefined ? 0 : leastWindow(mss, this.#step);
          this.#sockets.set(s, least);
          s.once('close', () => this.#sockets.delete(s));
          if (this.#window !== undefined) setReceiveWindow(s, Math.max(least, this.#window));
        }
        (callback as (e: Error | null, s: Socket | null) => void)(err, socket as Socket | null);
      });
  }

  /** A bulk answer, read through the meter: the stream to hand on instead of `body`. */
  meter(body: Readable, headers: Record<string, string | string[] | undefined>): Readable {
    const length = Number(headers['content-length']);
    const answer = this.#budget.started(Number.isSafeInteger(length) && length >= 0 ? length : undefined, performance.now());
    this.#sizeWindows();
    const lane = this;
    const held = new Transform({
      transform(chunk: Buffer, _enc, done) {
        if (!lane.#hold(() => done(null, chunk))) done(null, chunk);
      },
    });
    // Errors and an early end go both ways: the answer cut off fails the meter, a client gone tears the answer down (and frees its slot).
    pipeline(body, held, () => undefined);
    // Counted as they leave the answer's own stream (pipeline has set it flowing, so listening changes nothing), not as the meter
    // passes them on: a held chunk is off the link already.
    body.on('data', (chunk: Buffer) => {
      this.#budget.read(answer, chunk.length, performance.now());
      // Bytes read make room in the budget for the next bulk request.
      this.wake();
    });
    // Ended when the answer's stream is, before its slot is freed (on close), so the scheduler never sees the slot free and the answer open.
    const ended = () => {
      this.#budget.ended(answer, performance.now());
      this.#sizeWindows();
      this.wake();
    };
    body.once('end', ended);
    body.once('close', ended);
    return held;
  }

  /** Gives the bulk connections the budget's window, when it moved enough to matter. */
  #sizeWindows(): void {
    const w = this.#budget.windowBytes();
    if (w === undefined || (this.#window !== undefined && Math.abs(w - this.#window) < this.#window * WINDOW_STEP)) return;
    this.#window = w;
    for (const [s, least] of this.#sockets) setReceiveWindow(s, Math.max(least, w));
  }

  /** Keeps `go` for when the hold ends; false when nothing is held now. */
  #hold(go: () => void): boolean {
    if (!this.#budget.holds(performance.now())) return false;
    this.#held.add(go);
    if (!this.#holdTimer) {
      // A hold ends by itself after byteBudget.maxHoldMs, so bulk downloads never stall into their idle timeout behind a slow critical answer.
      const ends = this.#budget.holdEnds() ?? performance.now();
      this.#holdTimer = setTimeout(() => this.#letGo(), Math.max(0, ends - performance.now()));
    }
    return true;
  }

  #letGo(): void {
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    const held = [...this.#held];
    this.#held.clear();
    for (const go of held) go();
  }
}
