// The Sql interface over PostgreSQL, with node-postgres (pg): the most used
// and longest kept PostgreSQL client for Node, pure JavaScript (no native
// build next to better-sqlite3's), with a pool that replaces a connection the
// server dropped. One connection per database: its operations run one at a
// time anyway (serial.ts), and their order is what the hub relies on. A hub
// opens two (HubStore.open): the store's, and one that routes commands.
import pg from 'pg';
import type { Sql, SqlValue } from './database.js';
import { SerialDatabase } from './serial.js';

export interface PostgresConnection {
  connectionString?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
  database?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  connectTimeoutMs: number;
}

const INT8 = 20;

// Timestamps are milliseconds in BIGINT columns, and counts are BIGINT: pg hands
// those out as strings (they may exceed 2^53); the hub's never do.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8 ? Number : pg.types.getTypeParser(oid, format ?? 'text'))) as typeof pg.types.getTypeParser,
};

/** `?` placeholders as PostgreSQL's `$1, $2...` (the hub's SQL has no `?` in a string literal). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** How to reach the server, for the pool and for a replica's LISTEN connection (listener.ts). */
export function clientConfig(c: PostgresConnection, applicationName: string): pg.ClientConfig {
  return {
    connectionString: c.connectionString,
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    password: c.password,
    connectionTimeoutMillis: c.connectTimeoutMs,
    types,
    application_name: applicationName,
  };
}

/** Statements on a pool, a pooled client or a connection of its own (the replica's LISTEN session). */
export class PostgresSql implements Sql {
  constructor(private readonly client: pg.Pool | pg.PoolClient | pg.Client) {}

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.client.query(numbered(sql), params as SqlValue[])).rowCount ?? 0;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.client.query(numbered(sql), params as SqlValue[])).rows as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }
}

export class PostgresDatabase extends SerialDatabase {
  readonly #pool: pg.Pool;

  /**
   * `applicationName`: what pg_stat_activity shows for it.
   * `onError`: a connection lost while idle (the pool opens another when next needed).
   */
  constructor(c: PostgresConnection, applicationName: string, onError: (e: Error) => void) {
    const pool = new pg.Pool({ ...clientConfig(c, applicationName), max: 1 });
    super(new PostgresSql(pool));
    this.#pool = pool;
    this.#pool.on('error', onError);
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.serial.run(async () => {
      const client = await this.#pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(new PostgresSql(client));
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (e) {
        // A connection that cannot even roll back is not given back to the pool.
        await client.query('ROLLBACK').then(
          () => client.release(),
          (rollback: Error) => client.release(rollback),
        );
        throw e;
      }
    });
  }

  ping(): Promise<void> {
    return this.serial.run(async () => {
      await this.#pool.query('SELECT 1');
    });
  }

  close(): Promise<void> {
    return this.serial.run(() => this.#pool.end());
  }
}
