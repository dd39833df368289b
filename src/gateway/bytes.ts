// The I/O side of a path's byte budget (byte-budget.ts): the bytes of bulk
// answers are counted as they are read, and while critical work waits on the
// path the bulk connections are read no further (socket-reads.ts): their bytes
// stay in the kernel's receive buffer, TCP's window closes, and the ERP's side
// stops sending bulk into the link until the critical answer is through. Bulk
// has connections of its own (upstreams.ts), whose receive window is the
// budget's (receive-window.ts): without it, a whole answer fits in the
// kernel's window, is in the link's queue before any holding can matter, and
// every checkout answered meanwhile waits behind it. The scheduler asks the
// lane before each bulk grant.
import type { Socket } from 'node:net';
import { Transform, pipeline, type Readable } from 'node:stream';
import type { buildConnector } from 'undici';
import { ByteBudget } from './byte-budget.js';
import { leastWindow, segmentSize, setReceiveWindow, windowStep } from './receive-window.js';
import type { BulkGate } from './scheduler.js';
import { resumeReads, stopReads } from './socket-reads.js';

/** A window change smaller than this share of the last one is not worth a system call per connection. */
const WINDOW_STEP = 1 / 8;

export class BulkLane implements BulkGate {
  readonly #budget: ByteBudget;
  /** The bulk connections whose reads the hold stopped. */
  readonly #stopped = new Set<Socket>();
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
    const now = performance.now();
    this.#budget.setCritical(waiting, now);
    if (!waiting) return this.#letGo();
    if (!this.#budget.holds(now) || this.#holdTimer) return;
    for (const s of this.#sockets.keys()) this.#stop(s);
    // A hold ends by itself after byteBudget.maxHoldMs, so bulk downloads never stall into their idle timeout behind a slow critical answer.
    this.#holdTimer = setTimeout(() => this.#letGo(), Math.max(0, (this.#budget.holdEnds() ?? now) - now));
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
          s.once('close', () => {
            this.#sockets.delete(s);
            this.#stopped.delete(s);
          });
          if (this.#window !== undefined) setReceiveWindow(s, Math.max(least, this.#window));
          if (this.#holdTimer) this.#stop(s);
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
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        lane.#budget.read(answer, chunk.length, performance.now());
        // Bytes read make room in the budget for the next bulk request.
        lane.wake();
        done(null, chunk);
      },
    });
    // Errors and an early end go both ways: the answer cut off fails the meter, a client gone tears the answer down (and frees its slot).
    pipeline(body, counted, () => undefined);
    // Ended when the answer's stream is, before its slot is freed (on close), so the scheduler never sees the slot free and the answer open.
    const ended = () => {
      this.#budget.ended(answer, performance.now());
      this.#sizeWindows();
      this.wake();
    };
    body.once('end', ended);
    body.once('close', ended);
    return counted;
  }

  /** Gives the bulk connections the budget's window, when it moved enough to matter. */
  #sizeWindows(): void {
    const w = this.#budget.windowBytes();
    if (w === undefined || (this.#window !== undefined && Math.abs(w - this.#window) < this.#window * WINDOW_STEP)) return;
    this.#window = w;
    for (const [s, least] of this.#sockets) setReceiveWindow(s, Math.max(least, w));
  }

  #stop(socket: Socket): void {
    if (stopReads(socket)) this.#stopped.add(socket);
  }

  #letGo(): void {
    if (!this.#holdTimer) return;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    for (const s of this.#stopped) resumeReads(s);
    this.#stopped.clear();
    this.#budget.holdEnded(performance.now());
  }
}
