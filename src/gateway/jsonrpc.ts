// What an Odoo JSON-RPC request will execute, read from the body exactly as
// Odoo reads it. Classification trusts the body, not the URL: Odoo's call_kw
// route ignores the model/method in its URL, so a URL that disagrees with the
// body is refused rather than classified by the part that is not executed.
import { createHash } from 'node:crypto';

export interface JsonRpcCall {
  /** '' for calls that name no model (e.g. the `common` service's login). */
  model: string;
  method: string;
}

export type JsonRpcParse = { ok: true; call: JsonRpcCall; body: unknown } | { ok: false; reason: string };

const CALL_KW = '/web/dataset/call_kw';

/** True when the path is an Odoo JSON-RPC endpoint whose body names what runs. */
export function isJsonRpcPath(path: string): boolean {
  return path === '/jsonrpc' || path === CALL_KW || path.startsWith(CALL_KW + '/') || path === '/web/dataset/call_button';
}

/** The model/method named by the URL form /web/dataset/call_kw/<model>/<method>, if any. */
export function callFromUrl(path: string): JsonRpcCall | undefined {
  if (!path.startsWith(CALL_KW + '/')) return undefined;
  const [model, method] = path.slice(CALL_KW.length + 1).split('/');
  return model && method ? { model, method } : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Extracts the call from a JSON-RPC body for `path`. Pure; never throws. */
export function parseJsonRpc(path: string, raw: Buffer | string): JsonRpcParse {
  let body: unknown;
  try {
    body = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { ok: false, reason: 'body is not valid JSON' };
  }
  if (!isObject(body)) return { ok: false, reason: 'JSON-RPC body must be an object' };
  const params = body.params;
  if (!isObject(params)) return { ok: false, reason: 'JSON-RPC body has no params object' };

  let call: JsonRpcCall;
  if (path === '/jsonrpc') {
    const service = params.service;
    const method = params.method;
    if (typeof service !== 'string' || typeof method !== 'string') return { ok: false, reason: 'params.service and params.method must be strings' };
    if (service === 'object' && (method === 'execute_kw' || method === 'execute')) {
      const args = params.args;
      if (!Array.isArray(args) || typeof args[3] !== 'string' || typeof args[4] !== 'string')
        return { ok: false, reason: `${method} needs args [db, uid, password, model, method, ...]` };
      call = { model: args[3], method: args[4] };
    } else {
      call = { model: '', method: `${service}.${method}` };
    }
  } else {
    if (typeof params.model !== 'string' || typeof params.method !== 'string')
      return { ok: false, reason: 'params.model and params.method must be strings' };
    call = { model: params.model, method: params.method };
  }

  // Whatever the URL names must be what the body calls: a model alone
  // (/call_kw/<model>) too, or a route matching that URL would take any call.
  if (path.startsWith(CALL_KW + '/')) {
    const [model = '', method = ''] = path.slice(CALL_KW.length + 1).split('/');
    if ((model !== '' && model !== call.model) || (method !== '' && method !== call.method))
      return { ok: false, reason: `URL names ${[model, method].filter(Boolean).join('.')} but the body calls ${call.model}.${call.method}` };
  }
  return { ok: true, call, body };
}

/** The message of a JSON-RPC error answer (Odoo sends these with HTTP 200), or undefined. */
export function jsonRpcErrorOf(body: Buffer, contentType: string | string[] | undefined): string | undefined {
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  if (!type?.includes('json') || body.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || parsed.error === undefined || parsed.error === null) return undefined;
  const err = parsed.error;
  if (!isObject(err)) return String(err);
  const data = isObject(err.data) ? err.data : {};
  const detail = typeof data.message === 'string' ? data.message : typeof data.name === 'string' ? data.name : undefined;
  const message = typeof err.message === 'string' ? err.message : 'error';
  return (detail ? `${message}: ${detail}` : message).slice(0, 500);
}

// Odoo's ORM reads: what a cache route may keep. Anything else (create,
// write, action_*, button_*...) changes the ERP and is never answered from a
// copy, whatever the route says.
const READ_METHODS = new Set(['read', 'search', 'search_read', 'search_count', 'name_search', 'name_get', 'fields_get', 'read_group', 'web_read', 'web_search_read', 'default_get']);

export function isReadCall(call: JsonRpcCall): boolean {
  return READ_METHODS.has(call.method) || call.method.startsWith('get_') || call.method.startsWith('load_');
}

/** What a JSON-RPC request asks, without its id: equal digests, same question. */
export function callDigest(body: unknown): string {
  const { id: _id, ...rest } = isObject(body) ? body : { body };
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** The id of a JSON-RPC request, which its answer must carry. */
export function requestIdOf(body: unknown): unknown {
  return isObject(body) ? (body.id ?? null) : null;
}

/** A kept JSON-RPC answer given to a later request: the same result under that request's id. */
export function withRequestId(answer: Buffer, id: unknown): Buffer {
  try {
    const parsed: unknown = JSON.parse(answer.toString('utf8'));
    if (!isObject(parsed)) return answer;
    return Buffer.from(JSON.stringify({ ...parsed, id }));
  } catch {
    return answer;
  }
}

/** JSON with object keys sorted, so the same call written two ways has one digest. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}
