// From the hub config's store.postgres to a connection: the password is read
// from its file when the hub starts (as the token files are), and the
// database is named in messages by host and name, never by its URL.
import { readFileSync } from 'node:fs';
import type { PostgresConfig } from '../../../../edge-config/hub-schema.js';
import type { PostgresStore } from './postgres.js';

function readPassword(file: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new Error(`store.postgres.passwordFile ${file}: cannot read it (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
}

export function postgresStore(c: PostgresConfig): PostgresStore {
  // A Secret mounted as a file, or one written with echo: the line end is not part of it.
  const password = c.passwordFile === undefined ? undefined : readPassword(c.passwordFile);
  const url = c.url === undefined ? undefined : new URL(c.url);
  const host = url ? url.host : (c.host ?? 'the local socket');
  const database = url ? decodeURIComponent(url.pathname.slice(1)) || '(the user\'s)' : (c.database ?? '(the user\'s)');
  return {
    connectionString: c.url,
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    password,
    connectTimeoutMs: c.connectTimeoutMs,
    label: `${database} on ${host}`,
  };
}
