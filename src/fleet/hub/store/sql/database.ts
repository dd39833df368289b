// What the hub's table modules need of a database, whichever it is: SQL with
// `?` placeholders, rows out, transactions. Both backends run one operation
// at a time, in the order they were asked for (serial.ts), as the synchronous
// SQLite store did: a command's log entry is written before its outcome, a
// desired config before the read that follows it, and nothing slips into
// another caller's transaction. (A hub on PostgreSQL has a second connection
// for routing commands, ordered on its own: HubStore.routing.)

/** The SQL a backend speaks, where the schema's migrations differ (store-schema.ts). */
export type Dialect = 'sqlite' | 'postgres';

export type SqlValue = string | number | null;

/** Runs SQL. Placeholders are `?`, bound in order. */
export interface Sql {
  /** Returns how many rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
}

export interface SqlDatabase extends Sql {
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Resolves when the database answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
