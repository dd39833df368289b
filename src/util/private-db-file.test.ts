import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { privateDbFile } from './private-db-file.js';

const mode = (f: string) => statSync(f).mode & 0o777;
let dir: string | undefined;
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

describe('private SQLite files', () => {
  it('are 600 from their creation, WAL companions included, whatever the umask', () => {
    dir = mkdtempSync(join(tmpdir(), 'storegw-private-'));
    const file = join(dir, 'x.db');
    const before = process.umask(0);
    try {
      privateDbFile(file);
      expect(mode(file)).toBe(0o600);
      const db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE t (v TEXT); INSERT INTO t VALUES (1)');
      expect(mode(`${file}-wal`)).toBe(0o600);
      expect(mode(`${file}-shm`)).toBe(0o600);
      db.close();
    } finally {
      process.umask(before);
    }
  });

  it('brings an existing file down to 600', () => {
    dir = mkdtempSync(join(tmpdir(), 'storegw-private-'));
    const file = join(dir, 'old.db');
    writeFileSync(file, '', { mode: 0o644 });
    privateDbFile(file);
    expect(mode(file)).toBe(0o600);
  });
});
