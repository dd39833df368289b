// Telemetry and events sent to a hub that acknowledges them (the `acks`
// feature) and not acknowledged yet: the hub acks only once the batch carrying
// them is committed, so a hub killed before its flush has lost them and they
// must go again. Kept in memory, oldest first, bounded; what the bound pushes
// out and what is left when the connection closes go back to the spool, to be
// sent again (the hub stores a message id once, so a repeat is harmless). Pure.

export class Unacked<M extends { id: string }> {
  readonly #max: number;
  /** By id, in the order sent (a Map keeps insertion order). */
  readonly #sent = new Map<string, M>();

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#sent.size;
  }

  /** Keeps a message just sent. Returns the oldest ones past the bound: no longer waited for here, to be kept elsewhere. */
  sent(m: M): M[] {
    this.#sent.delete(m.id);
    this.#sent.set(m.id, m);
    const over: M[] = [];
    for (const [id, oldest] of this.#sent) {
      if (this.#sent.size <= this.#max) break;
      this.#sent.delete(id);
      over.push(oldest);
    }
    return over;
  }

  /** The hub committed these: forgotten. Ids not waited for (sent on an earlier connection, already acked) are ignored. Returns how many were. */
  acked(ids: readonly string[]): number {
    let n = 0;
    for (const id of ids) if (this.#sent.delete(id)) n++;
    return n;
  }

  /** Forgets one message (its send failed). False when it was not waited for (already taken or acked). */
  forget(id: string): boolean {
    return this.#sent.delete(id);
  }

  /** Everything still waited for, oldest first, forgotten here: the connection closed, and these go again on the next. */
  takeAll(): M[] {
    const all = [...this.#sent.values()];
    this.#sent.clear();
    return all;
  }
}
