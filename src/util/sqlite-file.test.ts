import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { disposableProblem, migrate, moveAside, sqliteFileProblem } from './sqlite-file.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
const file = (name: string) => join((dir ??= mkdtempSync(join(tmpdir(), 'storegw-sqlite-'))), name);

function db(name: string, appId: number, version: number): string {
  const f = file(name);
  const d = new Database(f);
  d.pragma(`application_id = ${appId}`);
  d.pragma(`user_version = ${version}`);
  d.exec('CREATE TABLE t (v)');
  d.close();
  return f;
}

describe('an existing SQLite file', () => {
  it('is fine when absent, empty, or ours at a version we know', () => {
    expect(sqliteFileProblem(file('none.db'), 7, 1)).toBeUndefined();
    writeFileSync(file('empty.db'), '');
    expect(sqliteFileProblem(file('empty.db'), 7, 1)).toBeUndefined();
    expect(sqliteFileProblem(db('ours.db', 7, 1), 7, 1)).toBeUndefined();
  });

  it('is foreign, newer or damaged, and says which', () => {
    expect(sqliteFileProblem(db('theirs.db', 9, 1), 7, 1)).toEqual({ kind: 'foreign', applicationId: 9 });
    expect(sqliteFileProblem(db('future.db', 7, 3), 7, 1)).toEqual({ kind: 'newer', version: 3 });
    writeFileSync(file('junk.db'), 'not a database, not at all'.repeat(200));
    expect(sqliteFileProblem(file('junk.db'), 7, 1)).toEqual({ kind: 'damaged', detail: 'is not a database (foreign or corrupt file)' });
    expect(disposableProblem({ kind: 'newer', version: 3 }, 'cache')).toBe('written by a newer storegw (cache schema 3)');
  });

  it('can be moved aside with its WAL companions', () => {
    const f = db('aside.db', 7, 1);
    writeFileSync(`${f}-wal`, '');
    const aside = moveAside(f);
    expect(existsSync(f) || existsSync(`${f}-wal`)).toBe(false);
    expect(readdirSync(dir!).sort()).toEqual([aside.slice(dir!.length + 1), `${aside.slice(dir!.length + 1)}-wal`].sort());
  });

  it('is migrated one version at a time, only as far as it is behind, and stamped as ours', () => {
    const f = file('migrating.db');
    const d = new Database(f);
    migrate(d, 7, ['CREATE TABLE a (v)']);
    migrate(d, 7, ['CREATE TABLE a (v)', 'CREATE TABLE b (v)']);
    d.close();
    expect(sqliteFileProblem(f, 7, 2)).toBeUndefined();
    expect(sqliteFileProblem(f, 7, 1)).toEqual({ kind: 'newer', version: 2 });
  });
});
