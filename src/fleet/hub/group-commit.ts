// Group commit: what many callers ask to have written is gathered while the
// write before it is under way, and written together. A burst of ten thousand
// hellos after a mass reconnect then costs a few dozen commits (each a WAL
// flush on PostgreSQL) instead of two each, while a lone hello on a quiet hub
// is written at once, as before. Each caller still waits until its own item is
// written, and hears of the failure of the write that carried it. Only the
// scheduling is here: the write is given.

interface Waiting<T> {
  item: T;
  resolve(): void;
  reject(e: unknown): void;
}

export class GroupCommit<T> {
  readonly #write: (items: T[]) => Promise<void>;
  readonly #maxItems: number;
  #waiting: Waiting<T>[] = [];
  readonly #underWay = new Set<Promise<void>>();

  /** `write` gets at most `maxItems` items, in the order they were added, and writes them together. */
  constructor(write: (items: T[]) => Promise<void>, maxItems: number) {
    this.#write = write;
    this.#maxItems = maxItems;
  }

  /** Resolves once `item` is written; rejects with the error of the write that carried it. */
  add(item: T): Promise<void> {
    const written = new Promise<void>((resolve, reject) => this.#waiting.push({ item, resolve, reject }));
    if (this.#underWay.size === 0) this.#start();
    return written;
  }

  /**
   * Hands everything waiting to writes now, without waiting for those under way: for a
   * caller whose own write, asked for next, must come after these (the store keeps the
   * order in which writes are asked for).
   */
  flush(): void {
    while (this.#waiting.length > 0) this.#start();
  }

  /** Writes what waits and resolves once every write has ended, failed or not (closing). */
  async settle(): Promise<void> {
    this.flush();
    while (this.#underWay.size > 0) await Promise.allSettled([...this.#underWay]);
  }

  #start(): void {
    const batch = this.#waiting.splice(0, this.#maxItems);
    let written: Promise<void>;
    try {
      // Called now, not in a later turn: the write takes its place in the store's order here.
      written = this.#write(batch.map((w) => w.item));
    } catch (e) {
      written = Promise.reject(e);
    }
    const done = written.then(
      () => {
        for (const w of batch) w.resolve();
      },
      (e: unknown) => {
        for (const w of batch) w.reject(e);
      },
    );
    this.#underWay.add(done);
    void done.then(() => {
      this.#underWay.delete(done);
      // What came in meanwhile goes together, once nothing else is under way.
      if (this.#underWay.size === 0 && this.#waiting.length > 0) this.#start();
    });
  }
}
