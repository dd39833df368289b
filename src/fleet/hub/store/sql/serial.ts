// One operation at a time, in the order asked: what keeps the hub's writes and
// the reads after them in order on a database that answers asynchronously.

export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `op` once every operation asked for before it has settled. */
  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(op, op);
    // The next operation waits for this one, failed or not.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
