// The Sql interface over better-sqlite3 (synchronous, on the hub's event
// loop), for the embedded hub: statements are prepared once and kept.
import type Database from 'better-sqlite3';
import type { Sql, SqlValue } from './database.js';
import { SerialDatabase } from './serial.js';

class SqliteSql implements Sql {
  readonly #statements = new Map<string, Database.Statement>();

  constructor(protected readonly db: Database.Database) {}

  #prepare(sql: string): Database.Statement {
    let s = this.#statements.get(sql);
    if (!s) this.#statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return Promise.resolve(this.#prepare(sql).run(...params).changes);
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return Promise.resolve(this.#prepare(sql).all(...params) as T[]);
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return Promise.resolve(this.#prepare(sql).get(...params) as T | undefined);
  }
}

export class SqliteDatabase extends SerialDatabase {
  readonly #db: Database.Database;
  readonly #sql: SqliteSql;

  constructor(db: Database.Database) {
    const sql = new SqliteSql(db);
    super(sql);
    this.#db = db;
    this.#sql = sql;
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.serial.run(async () => {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.#sql);
        this.#db.exec('COMMIT');
        return result;
      } catch (e) {
        this.#db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  ping(): Promise<void> {
    return this.serial.run(async () => {
      this.#db.prepare('SELECT 1').get();
    });
  }

  close(): Promise<void> {
    return this.serial.run(async () => {
      this.#db.close();
    });
  }
}
