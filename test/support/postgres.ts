// A real PostgreSQL for tests: a database (and a login role that owns it)
// made for one run and dropped after it, on the local server. Made as the
// postgres superuser through its Unix socket (runuser: peer authentication
// lets only the postgres OS user in); the hub under test then logs in over TCP
// with the role's password, read from a file as a hub in production reads it.
// Where there is no server or no root, describePostgres skips, saying why,
// except in CI, where it fails: a CI that skipped these would test nothing.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { PostgresConfig } from '../../edge-config/hub-schema.js';
import { isCI } from '../lab/describe-lab.js';

function superuser(sql: string): string {
  return execFileSync('runuser', ['-u', 'postgres', '--', 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', 'postgres', '-c', sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
}

/** Why these tests cannot run here, or undefined when they can. */
export function postgresSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root, to act as the postgres superuser (runuser -u postgres)';
  try {
    superuser('SELECT 1');
    return undefined;
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? '').trim();
    return `no PostgreSQL server answers on the local socket (${stderr || (e as Error).message}); start one: pg_ctlcluster <version> main start`;
  }
}

export interface TestDatabase {
  /** The hub config's store.postgres for it. */
  config: PostgresConfig;
  name: string;
  /** Runs SQL as the superuser in this database (to set up what a test needs). */
  admin(sql: string): string;
  /** Empties it: every table of the hub (and of a test) gone. */
  reset(): void;
  drop(): void;
}

export function createTestDatabase(): TestDatabase {
  const name = `storegw_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  superuser(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
  superuser(`CREATE DATABASE ${name} OWNER ${name}`);
  const dir = mkdtempSync(join(tmpdir(), 'storegw-pg-'));
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const admin = (sql: string) =>
    execFileSync('runuser', ['-u', 'postgres', '--', 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', name, '-c', sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
  return {
    config: { host: '127.0.0.1', port: Number(superuser('SHOW port').trim()), database: name, user: name, passwordFile, connectTimeoutMs: 5000 },
    name,
    admin,
    reset: () => admin(`DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION ${name}`),
    drop() {
      // WITH (FORCE): a connection a failed test left open must not keep the database.
      superuser(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      superuser(`DROP ROLE IF EXISTS ${name}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A describe block that needs PostgreSQL (skipped, or failed in CI, where there is none). */
export function describePostgres(name: string, fn: () => void, reason: string | undefined = postgresSkipReason(), ci: boolean = isCI()): void {
  if (reason === undefined) {
    describe(name, fn);
    return;
  }
  if (ci) {
    describe(name, () => {
      it('can reach PostgreSQL', () => {
        throw new Error(`PostgreSQL is needed on this CI machine: ${reason}`);
      });
    });
    return;
  }
  console.warn(`skipped "${name}": ${reason}`);
  describe(name, () => {
    it('PostgreSQL', (ctx) => ctx.skip(reason));
    describe.skip('needs PostgreSQL', fn);
  });
}
