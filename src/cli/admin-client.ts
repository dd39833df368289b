// The CLI's client for a gateway's admin API: --admin URL and --token-file,
// with errors a person can act on.
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { readSecretFile } from '../util/secret-file.js';

export const ADMIN_OPTIONS = {
  admin: { type: 'string', default: 'http://127.0.0.1:9080' },
  'token-file': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export interface AdminTarget {
  admin: string;
  tokenFile: string | undefined;
}

export class AdminError extends Error {}

export async function adminCall(t: AdminTarget, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (t.tokenFile) headers.authorization = `Bearer ${readSecretFile(t.tokenFile).value}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await request(new URL(path, t.admin), { method, headers, body: body === undefined ? null : JSON.stringify(body), headersTimeout: 5000, bodyTimeout: 5000 });
  } catch (e) {
    throw new AdminError(`cannot reach the gateway admin API at ${t.admin}: ${(e as Error).message}`);
  }
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  if (res.statusCode >= 400) {
    const detail = (parsed as { message?: string; error?: string }).message ?? (parsed as { error?: string }).error ?? text;
    throw new AdminError(`${t.admin} answered ${res.statusCode}${res.statusCode === 401 ? ' (pass --token-file)' : ''}: ${detail}`);
  }
  return parsed;
}

/** Parses the admin options plus a command's own; positionals are returned too. */
export function parseAdminArgs(args: string[], extra: Record<string, { type: 'string' | 'boolean'; default?: string | boolean }> = {}) {
  const { values, positionals } = parseArgs({ args, options: { ...ADMIN_OPTIONS, ...extra }, allowPositionals: true });
  const target: AdminTarget = { admin: values.admin as string, tokenFile: values['token-file'] as string | undefined };
  return { target, values: values as Record<string, string | boolean | undefined>, positionals };
}
