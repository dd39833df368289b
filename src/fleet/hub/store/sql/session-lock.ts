// A PostgreSQL session-level advisory lock on a connection of its own: held
// for as long as that session lives, so when its holder dies (or loses its
// connection) the server releases it and another process's next try takes
// it. Not on the store's pool: a pooled connection may be closed and
// replaced at any time, and the lock would go with it unnoticed.
import type { Logger } from 'pino';
import pg from 'pg';
import { clientConfig, type PostgresConnection } from './postgres.js';

export class SessionLock {
  readonly #connection: PostgresConnection;
  readonly #key: [number, number];
  readonly #logger: Logger;
  #client: pg.Client | undefined;
  #held = false;
  #closed = false;

  /** `key`: the two-int advisory lock key (a key space apart from the one-bigint locks). */
  constructor(connection: PostgresConnection, key: [number, number], logger: Logger) {
    this.#connection = connection;
    this.#key = key;
    this.#logger = logger;
  }

  /** Whether this process holds the lock now: taken if free, (re)connecting first if needed. Never rejects. */
  async tryAcquire(): Promise<boolean> {
    if (this.#closed) return false;
    if (this.#held && this.#client) return true;
    try {
      const client = this.#client ?? (await this.#connect());
      const row = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', this.#key);
      this.#held = row.rows[0]?.ok === true;
    } catch (e) {
      if (!this.#closed) this.#logger.error({ err: e }, 'cannot try the leader lock in PostgreSQL; trying again at the next turn');
      this.#drop();
    }
    return this.#held;
  }

  async #connect(): Promise<pg.Client> {
    // Keepalive: a session cut off without a word must end on both sides, or the server keeps the lock for a dead holder.
    const client = new pg.Client({ ...clientConfig(this.#connection, 'storegw-hub-lock'), keepAlive: true });
    const lost = (e: Error) => {
      if (this.#client !== client) return;
      // The session is gone, and the lock with it: another replica may hold it by now.
      this.#logger.error({ err: e, held: this.#held }, 'lost the PostgreSQL connection holding the leader lock');
      this.#drop();
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('connection ended')));
    try {
      await client.connect();
      // Closed while connecting (the hub stops): this session must not outlive it.
      if (this.#closed) throw new Error('closed while connecting');
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    this.#client = client;
    return client;
  }

  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#held = false;
    void client?.end().catch(() => undefined);
  }

  /** Ends the session: the lock is released at once for another replica's next try. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    this.#held = false;
    await client?.end().catch(() => undefined);
  }
}
