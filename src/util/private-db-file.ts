// SQLite files that hold business data or secrets (journal, cache, spool, hub):
// only the service's user may read them, from the first byte on.
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';

/**
 * Creates the file empty with mode 600 before SQLite opens it (SQLite gives
 * its -wal and -shm files the main file's mode, and an empty file is a new
 * database to it), and brings an existing one and its companions to 600.
 */
export function privateDbFile(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}
