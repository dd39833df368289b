// The CLI's client for a gateway's admin API: --admin URL and --token-file,
// with errors a person can act on.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
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

function authHeaders(t: AdminTarget): Record<string, string> {
  return t.tokenFile ? { authorization: `Bearer ${readSecretFile(t.tokenFile).value}` } : {};
}

function refusal(t: AdminTarget, status: number, parsed: unknown, text: string): AdminError {
  const detail = (parsed as { message?: string; error?: string }).message ?? (parsed as { error?: string }).error ?? text;
  return new AdminError(`${t.admin} answered ${status}${status === 401 ? ' (pass --token-file)' : ''}: ${detail}`);
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function adminCall(t: AdminTarget, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  const headers = authHeaders(t);
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await request(new URL(path, t.admin), { method, headers, body: body === undefined ? null : JSON.stringify(body), headersTimeout: 5000, bodyTimeout: 5000 });
  } catch (e) {
    throw new AdminError(`cannot reach the gateway admin API at ${t.admin}: ${(e as Error).message}`);
  }
  const text = await res.body.text();
  if (res.statusCode >= 400) throw refusal(t, res.statusCode, parsed(text), text);
  return parsed(text);
}

/** POSTs to `path` and streams the answer's body into `file` (created with `mode`); no deadline on the body, which may be large. */
export async function adminDownload(t: AdminTarget, path: string, file: string, mode: number): Promise<void> {
  let res;
  try {
    res = await request(new URL(path, t.admin), { method: 'POST', headers: authHeaders(t), headersTimeout: 60_000, bodyTimeout: 0 });
  } catch (e) {
    throw new AdminError(`cannot reach the gateway admin API at ${t.admin}: ${(e as Error).message}`);
  }
  if (res.statusCode >= 400) {
    const text = await res.body.text();
    throw refusal(t, res.statusCode, parsed(text), text);
  }
  await pipeline(res.body, createWriteStream(file, { flags: 'wx', mode }));
}

/** Parses the admin options plus a command's own; positionals are returned too. */
export function parseAdminArgs(args: string[], extra: Record<string, { type: 'string' | 'boolean'; default?: string | boolean }> = {}) {
  const { values, positionals } = parseArgs({ args, options: { ...ADMIN_OPTIONS, ...extra }, allowPositionals: true });
  const target: AdminTarget = { admin: values.admin as string, tokenFile: values['token-file'] as string | undefined };
  return { target, values: values as Record<string, string | boolean | undefined>, positionals };
}
