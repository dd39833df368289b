// Waiting for a slot on a path: the scheduler decides the order, this adds
// the deadline. A request that would wait past its class's maxQueueMs (or its
// own deadline, whichever is sooner) is shed, and its caller journals it,
// serves it from cache or refuses it with 503 overloaded.
import type { ClassName } from '../../edge-config/schema.js';
import type { Kind, Scheduler, Waiter } from './scheduler.js';

export type Slot = { ok: true; waitedMs: number; release(): void } | { ok: false; waitedMs: number };

export interface SlotObserver {
  waited(cls: ClassName, ms: number): void;
  shed(cls: ClassName, kind: Kind): void;
}

export class PathSlots {
  constructor(
    readonly scheduler: Scheduler,
    private readonly observer: SlotObserver,
  ) {}

  acquire(cls: ClassName, kind: Kind, maxWaitMs: number): Promise<Slot> {
    const started = performance.now();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let granted = false;
      const waiter: Waiter = {
        cls,
        kind,
        grant: () => {
          granted = true;
          clearTimeout(timer);
          const waitedMs = performance.now() - started;
          this.observer.waited(cls, waitedMs);
          let released = false;
          resolve({
            ok: true,
            waitedMs,
            release: () => {
              if (released) return;
              released = true;
              this.scheduler.release(cls);
            },
          });
        },
      };
      this.scheduler.enqueue(waiter);
      if (granted) return;
      timer = setTimeout(() => {
        if (!this.scheduler.cancel(waiter)) return;
        this.observer.shed(cls, kind);
        resolve({ ok: false, waitedMs: performance.now() - started });
      }, maxWaitMs);
    });
  }
}
