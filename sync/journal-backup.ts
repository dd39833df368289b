// A copy of the live journal, taken while the gateway keeps journaling: the
// scheduled backup to a second disk, and the snapshot an online export is made from.
//
// SQLite's online backup API (better-sqlite3's db.backup()) rather than VACUUM
// INTO: it copies 100 pages per step and lets the journal's worker answer
// between steps, so appends wait for one step at most, and changes made
// through the same connection meanwhile reach the copy. VACUUM INTO would
// hold the worker, and every till's write behind it, for the whole copy.
import { accessSync, constants, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { renameDurably } from '../src/util/durable-rename.js';
import { privateDbFile } from '../src/util/private-db-file.js';

let serial = 0;

/** Why `file` cannot take a backup, in words an operator acts on; undefined when its folder exists and is writable. */
export function backupTargetProblem(file: string): string | undefined {
  const dir = dirname(file);
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a folder`;
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code === 'ENOENT' ? `folder ${dir} does not exist (is the disk or USB stick mounted?)` : `folder ${dir} is not writable by this user`;
  }
}

/** Copies `db` to `file`: written beside it under a temporary name (mode 0600 from the first byte), complete and synced, then renamed into place. */
export async function backupDatabase(db: Database.Database, file: string): Promise<void> {
  const problem = backupTargetProblem(file);
  if (problem) throw new Error(`cannot back up the journal to ${file}: ${problem}`);
  const tmp = `${file}.tmp-${process.pid}-${++serial}`;
  try {
    // The copy holds what the journal holds (request headers, Odoo session cookies).
    privateDbFile(tmp);
    await db.backup(tmp);
    renameDurably(tmp, file);
  } catch (e) {
    for (const f of [tmp, `${tmp}-journal`]) rmSync(f, { force: true });
    throw e;
  }
}
