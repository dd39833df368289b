// A hub replica's LISTEN connection: its own pg client, apart from the store's
// pool (a pooled connection is handed to other queries and would drop the
// LISTEN with it). When the connection fails it is reopened, with a growing
// pause; `listening` is called after every (re)connection, so that the caller
// can pick up what was sent while nobody listened (a NOTIFY is not queued for
// a connection that is not there). The replica's heartbeat is written on this
// session too (session()): apart from the store's one connection, whose queue
// runs a minute behind after a mass reconnect (every hello writes to it), and
// alive exactly while the replica can hear what the others send it.
import type { Logger } from 'pino';
import pg from 'pg';
import type { Sql } from './database.js';
import { clientConfig, PostgresSql, type PostgresConnection } from './postgres.js';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

export interface ListenHandlers {
  notification(payload: string): void;
  listening(): void;
}

export class PostgresListener {
  readonly #connection: PostgresConnection;
  readonly #channel: string;
  readonly #handlers: ListenHandlers;
  readonly #logger: Logger;
  #client: pg.Client | undefined;
  #retryMs = FIRST_RETRY_MS;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(connection: PostgresConnection, channel: string, handlers: ListenHandlers, logger: Logger) {
    this.#connection = connection;
    this.#channel = channel;
    this.#handlers = handlers;
    this.#logger = logger;
  }

  /** Connects and LISTENs; rejects when the first attempt fails (the hub does not start half-connected). */
  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(clientConfig(this.#connection, 'storegw-hub-listen'));
    // Lost once it listened (the server restarted, a proxy cut it): reopened, once.
    // A failure before that is the caller's, through the rejection below.
    let live = false;
    const reopen = (e: Error) => {
      if (!live || this.#closed) return;
      live = false;
      if (this.#client === client) this.#client = undefined;
      this.#logger.error({ err: e, retryInMs: this.#retryMs }, 'lost the PostgreSQL connection that hears other replicas; reopening it (commands routed to this replica wait until then)');
      void client.end().catch(() => undefined);
      this.#schedule();
    };
    client.on('error', reopen);
    client.on('end', () => reopen(new Error('connection ended')));
    client.on('notification', (n) => {
      if (n.channel === this.#channel && n.payload !== undefined) this.#handlers.notification(n.payload);
    });
    try {
      await client.connect();
      // The channel is a replica id of hex digits after a fixed prefix: a plain identifier.
      await client.query(`LISTEN "${this.#channel}"`);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    live = true;
    this.#client = client;
    this.#retryMs = FIRST_RETRY_MS;
    this.#handlers.listening();
  }

  #schedule(): void {
    const wait = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    this.#retry = setTimeout(() => {
      this.#connect().catch((e: unknown) => {
        if (this.#closed) return;
        this.#logger.error({ err: e, retryInMs: this.#retryMs }, 'cannot reopen the PostgreSQL connection that hears other replicas; trying again');
        this.#schedule();
      });
    }, wait);
  }

  /** Statements on the listening session; rejects while it is being reopened. */
  session(): Sql {
    const client = this.#client;
    if (!client || this.#closed) throw new Error('the PostgreSQL connection that hears other replicas is not open');
    return new PostgresSql(client);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#client?.end().catch(() => undefined);
  }
}
