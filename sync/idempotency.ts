// Where a buffered request's idempotency key and ordering key come from. Pure.
import { randomUUID } from 'node:crypto';
import type { OrderingKey, RouteConfig } from '../edge-config/schema.js';
import { getJsonPath, parseJsonPath } from '../src/util/json-path.js';

export interface KeyedRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, when the request had one. */
  json: unknown;
}

export type KeySource = 'header' | 'body' | 'generated';

const MAX_KEY_LENGTH = 255;

function usable(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t.length > 0 && t.length <= MAX_KEY_LENGTH ? t : undefined;
}

/**
 * The key the ERP deduplicates on: the route's header or JSON path when the
 * request carries it (the client's own retries then map to the same entry),
 * otherwise a fresh one.
 */
export function idempotencyKey(route: Pick<RouteConfig, 'idempotencyKey'>, req: KeyedRequest): { key: string; source: KeySource } {
  const from = route.idempotencyKey;
  if (from && 'header' in from) {
    const h = req.headers[from.header.toLowerCase()];
    const key = usable(Array.isArray(h) ? h[0] : h);
    if (key) return { key, source: 'header' };
  } else if (from && 'jsonPath' in from) {
    const key = usable(getJsonPath(req.json, parseJsonPath(from.jsonPath)));
    if (key) return { key, source: 'body' };
  }
  return { key: randomUUID(), source: 'generated' };
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
