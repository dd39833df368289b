// Answers remembered by Idempotency-Key, for a simulator that plays an ERP
// behind something that honours keys. Odoo itself ignores the header, so the
// simulator only uses this when asked to (honourIdempotencyKey).

export class KeyMemory {
  #answers = new Map<string, unknown>();

  /** The result first answered under `key`, or undefined when the key is new. */
  recall(key: string): unknown {
    return this.#answers.get(key);
  }

  has(key: string): boolean {
    return this.#answers.has(key);
  }

  /** Only successful answers are remembered: a failed call committed nothing, so its retry must run again. */
  remember(key: string, result: unknown): void {
    this.#answers.set(key, result);
  }

  reset(): void {
    this.#answers.clear();
  }
}
