// While the ERP is refusing or unreachable, a buffered write gains nothing from
// a live try: the client would wait for an error, and the journal would commit
// a second time to record it. After a retryable failure, live tries pause for a
// short cool-off and buffered writes are answered 202 at once; the next write
// after the cool-off tries live again, and any delivery that succeeds (live or
// replay) ends the pause. Pure: the caller supplies the clock, a monotonic one
// (performance.now()), so that a wall-clock jump neither holds it open nor shuts it.

export class ErpBreaker {
  #openUntil = 0;

  constructor(private readonly coolOffMs: number) {}

  allowLive(now: number): boolean {
    return now >= this.#openUntil;
  }

  failed(now: number): void {
    this.#openUntil = now + this.coolOffMs;
  }

  succeeded(): void {
    this.#openUntil = 0;
  }
}
