// From store.postgres to a connection: the password from its file (as a
// Secret or echo writes it), the database named without any credential.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore } from './postgres-config.js';

const dir = mkdtempSync(join(tmpdir(), 'pg-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('postgresStore', () => {
  it('reads the password without its line end, and names the database by name and host', () => {
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 's3cret-with trailing space \n');
    const c = postgresStore({ host: 'db.internal', database: 'storegw_hub', user: 'storegw_hub', passwordFile, connectTimeoutMs: 5000 });
    expect(c).toMatchObject({ host: 'db.internal', database: 'storegw_hub', user: 'storegw_hub', password: 's3cret-with trailing space ', label: 'storegw_hub on db.internal' });
    expect(postgresStore({ url: 'postgres://storegw@db.internal:5433/hub%20a', connectTimeoutMs: 5000 })).toMatchObject({ connectionString: 'postgres://storegw@db.internal:5433/hub%20a', label: 'hub a on db.internal:5433' });
    expect(postgresStore({ connectTimeoutMs: 5000 }).label).toBe("(the user's) on the local socket");
  });

  it('says which password file it cannot read', () => {
    expect(() => postgresStore({ passwordFile: join(dir, 'missing'), connectTimeoutMs: 5000 })).toThrow(`store.postgres.passwordFile ${join(dir, 'missing')}: cannot read it (ENOENT)`);
  });
});
