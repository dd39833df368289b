// Opening the hub's SQLite file: refused when it is another application's,
// newer than this storegw or damaged; created private (it holds every store's
// desired config and command log); migrated to the current schema.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { privateDbFile } from '../../../util/private-db-file.js';
import { migrate, sqliteFileProblem, type SqliteFileProblem } from '../../../util/sqlite-file.js';
import { HUB_APPLICATION_ID, HUB_SCHEMA_VERSION, hubMigrations } from '../store-schema.js';
import { SqliteDatabase } from './sql/sqlite.js';

export class HubStoreError extends Error {
  constructor(
    /** The SQLite file, or the PostgreSQL database as "postgres database NAME". */
    readonly where: string,
    reason: string,
  ) {
    super(`${where}: ${reason}`);
    this.name = 'HubStoreError';
  }
}

function hubProblem(p: SqliteFileProblem): string {
  switch (p.kind) {
    case 'foreign':
      return 'is an SQLite database of another application (a gateway journal?), not a storegw hub database; refusing to touch it';
    case 'newer':
      return `hub schema version ${p.version} is newer than this storegw understands (${HUB_SCHEMA_VERSION}); upgrade storegw`;
    case 'damaged':
      return `${p.detail}; the file is kept as it is — restore it or move it aside`;
  }
}

/** Opens (or creates) the hub's SQLite database. Throws HubStoreError for a foreign, newer, damaged or unreadable file. */
export function openSqliteHubDatabase(file: string): SqliteDatabase {
  const problem = sqliteFileProblem(file, HUB_APPLICATION_ID, HUB_SCHEMA_VERSION);
  if (problem) throw new HubStoreError(file, hubProblem(problem));
  let db: Database.Database;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Desired configs and the command log of every store.
    privateDbFile(file);
    db = new Database(file);
  } catch (e) {
    throw new HubStoreError(file, `cannot open (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL: a power cut may lose the last second of telemetry, never the
    // database; a full fsync per flush would buy nothing the gateways cannot resend.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrate(db, HUB_APPLICATION_ID, hubMigrations('sqlite'));
    return new SqliteDatabase(db);
  } catch (e) {
    db.close();
    throw new HubStoreError(file, `cannot prepare the hub database (${(e as Error).message})`);
  }
}
