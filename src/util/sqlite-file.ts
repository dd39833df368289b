// What an existing SQLite file is, before anything writes to it: the journal,
// the cache, the spool and the hub database each open only their own kind of
// file, and a foreign, newer or damaged one is reported, never changed.
import Database from 'better-sqlite3';
import { existsSync, renameSync, statSync } from 'node:fs';

export type SqliteFileProblem =
  | { kind: 'foreign'; applicationId: number }
  | { kind: 'newer'; version: number }
  | { kind: 'damaged'; detail: string };

/** The problem with `file` as a database of `applicationId` at most `schemaVersion`; undefined when usable, absent or empty. */
export function sqliteFileProblem(file: string, applicationId: number, schemaVersion: number): SqliteFileProblem | undefined {
  if (!existsSync(file) || statSync(file).size === 0) return undefined;
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const appId = db.pragma('application_id', { simple: true }) as number;
    if (appId !== applicationId) {
      // A new, empty database has no application id yet: it is ours to initialise.
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
      if (appId !== 0 || tables.n > 0) return { kind: 'foreign', applicationId: appId };
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > schemaVersion) return { kind: 'newer', version };
    const check = db.pragma('quick_check', { simple: true }) as string;
    return check === 'ok' ? undefined : { kind: 'damaged', detail: `integrity check failed (${check})` };
  } catch (e) {
    const code = (e as { code?: string }).code;
    return { kind: 'damaged', detail: code === 'SQLITE_NOTADB' ? 'is not a database (foreign or corrupt file)' : code === 'SQLITE_CORRUPT' ? 'is corrupt' : (e as Error).message };
  } finally {
    db?.close();
  }
}

/**
 * Brings a database opened by this application up to `migrations.length`
 * (each migration takes it one version up), in one transaction, and stamps it
 * as this application's, so sqliteFileProblem recognises it next time.
 */
export function migrate(db: Database.Database, applicationId: number, migrations: readonly string[]): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  db.transaction(() => {
    for (let v = version; v < migrations.length; v++) db.exec(migrations[v]!);
    db.pragma(`application_id = ${applicationId}`);
    db.pragma(`user_version = ${migrations.length}`);
  })();
}

/** Why a disposable database (the cache, the spool) is set aside, for its log line. */
export function disposableProblem(p: SqliteFileProblem, what: string): string {
  switch (p.kind) {
    case 'foreign':
      return `an SQLite database of another application (application_id ${p.applicationId})`;
    case 'newer':
      return `written by a newer storegw (${what} schema ${p.version})`;
    case 'damaged':
      return p.detail;
  }
}

/** Renames a disposable database (and its WAL companions, which would be replayed into a new file) to `<file>.corrupt-<time>`. */
export function moveAside(file: string): string {
  const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(file, aside);
  for (const suffix of ['-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
  return aside;
}
