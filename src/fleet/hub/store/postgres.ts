// Opening the hub's PostgreSQL database: refused when it holds another
// application's tables or a newer schema; migrated to the current schema in
// one transaction (PostgreSQL's DDL is transactional), under an advisory lock
// so that hub replicas starting together migrate once. The table storegw_hub
// is what SQLite's application_id and user_version are to a file.
import { HUB_APPLICATION_ID, HUB_SCHEMA_VERSION, hubMigrations } from '../store-schema.js';
import { HubStoreError } from './database.js';
import type { Sql } from './sql/database.js';
import { PostgresDatabase, type PostgresConnection } from './sql/postgres.js';

export interface PostgresStore extends PostgresConnection {
  /** For messages: the database's name, never the URL (it may hold a password). */
  label: string;
}

async function migrate(tx: Sql, where: string): Promise<void> {
  await tx.get(`SELECT pg_advisory_xact_lock(?)`, [HUB_APPLICATION_ID]);
  const marked = await tx.get<{ t: string | null }>(`SELECT to_regclass('storegw_hub')::text AS t`);
  if (!marked?.t) {
    const tables = await tx.get<{ n: number }>(`SELECT count(*) AS n FROM pg_catalog.pg_tables WHERE schemaname = current_schema()`);
    if ((tables?.n ?? 0) > 0) throw new HubStoreError(where, 'holds tables of another application, not a storegw hub database; refusing to touch it');
    await tx.run(`CREATE TABLE storegw_hub (application_id BIGINT NOT NULL, version INTEGER NOT NULL)`);
    await tx.run(`INSERT INTO storegw_hub (application_id, version) VALUES (?, 0)`, [HUB_APPLICATION_ID]);
  }
  const mark = await tx.get<{ application_id: number; version: number }>(`SELECT application_id, version FROM storegw_hub`);
  if (mark?.application_id !== HUB_APPLICATION_ID) throw new HubStoreError(where, 'its storegw_hub table is not a storegw hub database\'s; refusing to touch it');
  if (mark.version > HUB_SCHEMA_VERSION) throw new HubStoreError(where, `hub schema version ${mark.version} is newer than this storegw understands (${HUB_SCHEMA_VERSION}); upgrade storegw`);
  const migrations = hubMigrations('postgres');
  for (let v = mark.version; v < migrations.length; v++) {
    // Several statements in one string: pg sends them as one simple query when there are no parameters.
    await tx.run(migrations[v]!);
  }
  await tx.run(`UPDATE storegw_hub SET version = ?`, [migrations.length]);
}

/** Connects to the hub's PostgreSQL database and brings it to the current schema. Throws HubStoreError. */
export async function openPostgresHubDatabase(c: PostgresStore, onError: (e: Error) => void): Promise<PostgresDatabase> {
  const where = `postgres database ${c.label}`;
  const db = new PostgresDatabase(c, 'storegw-hub', onError);
  try {
    await db.transaction((tx) => migrate(tx, where));
    return db;
  } catch (e) {
    await db.close().catch(() => undefined);
    if (e instanceof HubStoreError) throw e;
    throw new HubStoreError(where, `cannot prepare the hub database (${(e as Error).message})`);
  }
}

/**
 * The connection that routes commands between replicas (presence reads, relay rows), apart
 * from the store's: there a routed command waited behind every hello and telemetry flush
 * queued before it. Its routine writes are to the unlogged relay table, so their commits do
 * not wait for a WAL flush either. Opened on first use, after the store's migration.
 */
export function openPostgresRoutingDatabase(c: PostgresStore, onError: (e: Error) => void): PostgresDatabase {
  return new PostgresDatabase(c, 'storegw-hub-route', onError);
}
