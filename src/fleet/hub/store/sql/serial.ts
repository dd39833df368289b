// One operation at a time, in the order asked: what keeps the hub's writes and
// the reads after them in order on a database that answers asynchronously.
import type { Sql, SqlDatabase, SqlValue } from './database.js';

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

/**
 * A backend's statements, each run in its turn; the backend adds how it runs
 * a transaction (in its turn too, through `serial`), answers a ping and closes.
 */
export abstract class SerialDatabase implements SqlDatabase {
  protected readonly serial = new Serial();

  constructor(private readonly sql: Sql) {}

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.serial.run(() => this.sql.run(sql, params));
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.serial.run(() => this.sql.all<T>(sql, params));
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.serial.run(() => this.sql.get<T>(sql, params));
  }

  abstract transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}
