// Where a buffered request's idempotency keys and ordering key come from. Pure.
import { newEntryId } from './entry-ids.js';
import type { OrderingKey, RouteConfig } from '../edge-config/schema.js';
import { getJsonPath, parseBatchPath, parseJsonPath, setJsonPath, type BatchPath, type JsonPath } from '../edge-config/json-path.js';

export interface KeyedRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body; undefined when the request had none or it did not parse. */
  json: unknown;
}

/** One write to journal: the whole request, or one item of a batch with the body that carries it alone. */
export interface KeyedItem {
  key: string;
  /** The JSON body for this item alone (a batch's item); undefined: the request's body as it came. */
  json?: unknown;
}

export type RequestKeys = { ok: true; items: KeyedItem[]; batch: boolean } | { ok: false; reason: string };

const MAX_KEY_LENGTH = 255;

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.trim() === '' ? 'an empty string' : `a string of ${v.length} characters`;
  const type = typeof v;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** The key a value makes, or why it makes none: a non-empty string (at most 255 characters) or a finite number. */
function usable(v: unknown): { key: string } | { problem: string } {
  if (typeof v === 'number' && Number.isFinite(v)) return { key: String(v) };
  if (typeof v === 'string') {
    const t = v.trim();
    if (t.length > 0 && t.length <= MAX_KEY_LENGTH) return { key: t };
  }
  return { problem: `found ${describe(v)}; a key is a non-empty string of at most ${MAX_KEY_LENGTH} characters, or a number` };
}

function batchKeys(json: unknown, items: JsonPath, keyPath: JsonPath, text: string): RequestKeys {
  const list = getJsonPath(json, items);
  if (!Array.isArray(list) || list.length === 0) return { ok: false, reason: `the body has no list of items at ${text.split('[*]')[0]} (${describe(list)})` };
  const out: KeyedItem[] = [];
  const seen = new Set<string>();
  for (const [i, item] of list.entries()) {
    const found = usable(getJsonPath(item, keyPath));
    if ('problem' in found) return { ok: false, reason: `item ${i} of the batch has no usable key at ${text}: ${found.problem}` };
    // The same order twice in one batch is one write.
    if (seen.has(found.key)) continue;
    seen.add(found.key);
    out.push({ key: found.key, json: setJsonPath(json, items, [item]) });
  }
  return { ok: true, items: out, batch: true };
}

/**
 * A route's key path, parsed the first time it is asked for: it is the same on
 * every request of the route (paths come from the configuration, so they are few).
 */
const keyPaths = new Map<string, { batch: BatchPath } | { path: JsonPath }>();
function keyPath(text: string): { batch: BatchPath } | { path: JsonPath } {
  let parsed = keyPaths.get(text);
  if (!parsed) {
    const batch = parseBatchPath(text);
    parsed = batch ? { batch } : { path: parseJsonPath(text) };
    keyPaths.set(text, parsed);
  }
  return parsed;
}

/**
 * The keys the ERP deduplicates on, from where the route says: a header, a
 * value of the JSON body, or every item of a batch in the body. A request
 * without a usable key is refused (nothing is journaled): a key made up here
 * would turn the client's own re-send into a second write. A fresh key only
 * where the route asks for one.
 */
export function requestKeys(route: Pick<RouteConfig, 'idempotencyKey'>, req: KeyedRequest): RequestKeys {
  const from = route.idempotencyKey;
  if (!from) return { ok: false, reason: 'this route has no idempotency key source' };
  if ('generate' in from) return { ok: true, items: [{ key: newEntryId() }], batch: false };
  if ('header' in from) {
    const h = req.headers[from.header.toLowerCase()];
    const found = usable(Array.isArray(h) ? h[0] : h);
    return 'key' in found ? { ok: true, items: [{ key: found.key }], batch: false } : { ok: false, reason: `the ${from.header} header: ${found.problem}` };
  }
  if (req.json === undefined) return { ok: false, reason: `the body is not JSON, so it has no key at ${from.jsonPath}` };
  const parsed = keyPath(from.jsonPath);
  if ('batch' in parsed) return batchKeys(req.json, parsed.batch.items, parsed.batch.key, from.jsonPath);
  const found = usable(getJsonPath(req.json, parsed.path));
  return 'key' in found ? { ok: true, items: [{ key: found.key }], batch: false } : { ok: false, reason: `no usable key at ${from.jsonPath}: ${found.problem}` };
}

/** The FIFO lane an entry is delivered in: per device, per store, or none (null). */
export function orderingKey(kind: OrderingKey, device: string, storeId: string): string | null {
  switch (kind) {
    case 'device':
      return `device:${device}`;
    case 'store':
      return `store:${storeId}`;
    case 'none':
      return null;
  }
}
