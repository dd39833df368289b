// What the read cache may keep, and under which key. Pure.
//
// The gateway always asks the ERP first and answers from its store only when
// the ERP cannot answer (stale-if-error, RFC 5861): freshness lifetimes do not
// matter here, only whether an answer may be kept and to whom it may be given.
// RFC 9111 §4.2.4 allows a disconnected cache, or one so configured by an
// out-of-band contract (a route's `mode: cache`), to serve stale answers.
import { createHash } from 'node:crypto';
import { clientResponseHeaders } from '../http/headers.js';

export type HeaderBag = Record<string, string | string[] | undefined>;

/** A read as the ERP sees it: the target, the client's Host, and the headers sent upstream. */
export interface ReadRequest {
  method: string;
  target: string;
  host: string;
  headers: HeaderBag;
  /** A JSON-RPC read (a POST): what it asks, as a digest of its body without the id, and its id. */
  rpc?: { digest: string; id: unknown };
}

/**
 * Statuses kept: complete answers and permanent redirects, which stay true
 * for the same request. Negative answers (404, 410) are not: served stale
 * they would tell a till "no such product" with confidence during an outage,
 * where a 503 lets it fall back to what it holds itself. 206 needs range
 * merging this cache does not do.
 */
const STORABLE_STATUS = new Set([200, 203, 204, 300, 301, 308]);

/** Upstream answers that RFC 5861 counts as errors: the stored copy is served instead, when there is one. */
export const STALE_ON_STATUS: ReadonlySet<number> = new Set([500, 502, 503, 504]);

/**
 * Request headers that select a variant whatever the ERP's Vary says: Odoo
 * negotiates language and format without always saying so, and a gzip body
 * must never reach a client that did not ask for one.
 */
const ALWAYS_VARY = ['accept', 'accept-encoding', 'accept-language'];

/**
 * Where a kept answer may be used. `shared`: for any device. `credential`: only
 * for requests carrying the same Authorization and Cookie values.
 *
 * Odoo authenticates POS and back-office sessions with a cookie, so almost
 * every read a till makes carries one; refusing those would leave the cache
 * empty. Keying such answers by the credential means a device only ever gets
 * back what the ERP gave its own session: no device sees another user's data.
 * The ERP is always asked first, so a session it has revoked is refused while
 * it can answer; during an outage that session only sees again what it was
 * given before. Answers the ERP marks `public` (or `s-maxage`) are shareable
 * by its own word (RFC 9111 §3.5) and are kept for every device.
 */
export type Scope = 'shared' | 'credential';

export type Storability = { store: true; scope: Scope; vary: string[] } | { store: false; reason: string };

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function joined(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join(',') : v ?? '';
}

/** Cache-Control directive names, lower-cased (values are not needed by these rules). */
export function directives(value: string | string[] | undefined): Set<string> {
  const names = new Set<string>();
  for (const part of joined(value).split(',')) {
    const name = part.split('=', 1)[0]!.trim().toLowerCase();
    if (name) names.add(name);
  }
  return names;
}

function hasCredentials(h: HeaderBag): boolean {
  return h.authorization !== undefined || h.cookie !== undefined;
}

/** Whether the answer to `req` may be kept, for whom, and which request headers select it. */
export function storability(req: ReadRequest, status: number, headers: HeaderBag): Storability {
  if (req.method !== 'GET' && !req.rpc) return { store: false, reason: 'method' };
  if (!STORABLE_STATUS.has(status)) return { store: false, reason: 'status' };
  if (directives(req.headers['cache-control']).has('no-store')) return { store: false, reason: 'request no-store' };
  const cc = directives(headers['cache-control']);
  // no-cache and the revalidate directives forbid serving the answer stale (RFC 9111 §4.2.4), and stale is all this cache serves.
  for (const d of ['no-store', 'private', 'no-cache', 'must-revalidate', 'proxy-revalidate']) if (cc.has(d)) return { store: false, reason: d };
  const varyNames = joined(headers.vary)
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean);
  if (varyNames.includes('*')) return { store: false, reason: 'vary *' };
  const vary = [...new Set([...ALWAYS_VARY, ...varyNames])].sort();
  if (cc.has('public') || cc.has('s-maxage')) return { store: true, scope: 'shared', vary };
  if (hasCredentials(req.headers)) return { store: true, scope: 'credential', vary };
  // A cookie set in answer to an anonymous request starts someone's session: the body may be theirs alone.
  if (headers['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' };
  return { store: true, scope: 'shared', vary };
}

const sha256 = (parts: unknown): string => createHash('sha256').update(JSON.stringify(parts)).digest('hex');

/**
 * The key of a scope. Only GET answers and JSON-RPC reads (by their body's
 * digest) are kept, so the method is not part of it: a HEAD is answered from
 * the GET entry. Credentials enter as part of a
 * digest only; the cache file never holds them.
 */
export function scopeKey(req: ReadRequest, scope: Scope): string {
  const credential = scope === 'credential' ? [joined(req.headers.authorization), joined(req.headers.cookie)] : null;
  return sha256([req.host.toLowerCase(), req.target, credential, ...(req.rpc ? [req.rpc.digest] : [])]);
}

/** Keys to look under, most specific first: the requester's own answers, then shared ones. */
export function lookupKeys(req: ReadRequest): string[] {
  const shared = scopeKey(req, 'shared');
  return hasCredentials(req.headers) ? [scopeKey(req, 'credential'), shared] : [shared];
}

/** Digest of the values `req` has for the `vary` headers: equal digests, same variant. */
export function variantOf(vary: readonly string[], headers: HeaderBag): string {
  return sha256(vary.map((name) => [name, joined(headers[name]).trim()]));
}

/** Not kept: a cookie is one session's, the length is the stored body's own, a request id another request's. */
const NOT_KEPT = ['set-cookie', 'content-length', 'x-request-id'];

/** The response headers kept with an answer: end-to-end ones, minus cookies. */
export function keptHeaders(upstream: HeaderBag): Record<string, string | string[]> {
  const out = clientResponseHeaders(upstream);
  for (const name of NOT_KEPT) delete out[name];
  return out;
}

/** Age of a stored answer (RFC 9111 §5.1): what it already had upstream plus the time since it was stored. */
export function ageSeconds(headers: HeaderBag, storedAt: number, now: number): number {
  const upstream = Number.parseInt(firstValue(headers.age) ?? '', 10);
  return (Number.isFinite(upstream) && upstream > 0 ? upstream : 0) + Math.max(0, Math.floor((now - storedAt) / 1000));
}
