// The read-back check of an unknown entry: did a write the ERP does not dedupe
// take effect? Asked as an Odoo search_count over the route's domain, with
// "$.<json path>" values taken from the journaled body, through the same
// uplinks and session (the client's cookie) as the write.
import type { RouteConfig } from '../../edge-config/schema.js';
import type { DueEntry } from '../../sync/journal-store.js';
import { getJsonPath, parseJsonPath } from '../../edge-config/json-path.js';
import { deliver, type DeliverContext } from './deliver.js';

type Check = NonNullable<RouteConfig['check']>;

/** The route's domain with every "$.<path>" string replaced by that value of the body. Throws when the body lacks one. */
export function boundDomain(domain: readonly unknown[], body: unknown): unknown[] {
  const bind = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(bind);
    if (typeof v !== 'string' || !v.startsWith('$.')) return v;
    const value = getJsonPath(body, parseJsonPath(v));
    if (value === undefined) throw new Error(`the journaled body has nothing at ${v}`);
    return value;
  };
  return domain.map(bind);
}

/** The count an Odoo JSON-RPC search_count answered, or why there is none. */
export function countOf(status: number, body: Buffer): number {
  if (status !== 200) throw new Error(`HTTP ${status}`);
  const parsed = JSON.parse(body.toString('utf8')) as { result?: unknown; error?: { message?: string } };
  if (typeof parsed.result === 'number') return parsed.result;
  throw new Error(parsed.error ? `ERP error: ${parsed.error.message ?? 'error'}` : 'no count in the answer');
}

/** True when the entry's write is visible at the ERP; rejects when the ERP could not be asked or did not say. */
export async function readBack(entry: DueEntry, check: Check, ctx: Omit<DeliverContext, 'kind'>): Promise<boolean> {
  const body: unknown = JSON.parse(entry.body?.toString('utf8') ?? 'null');
  const call = { jsonrpc: '2.0', method: 'call', id: null, params: { model: check.model, method: 'search_count', args: [boundDomain(check.domain, body)], kwargs: {} } };
  const { 'content-length': _length, ...headers } = entry.headers;
  const attempt = await deliver(
    {
      cls: entry.cls,
      idemKey: `read-back:${entry.idemKey}`,
      method: 'POST',
      target: `/web/dataset/call_kw/${check.model}/search_count`,
      headers: { ...headers, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(call)),
    },
    { ...ctx, kind: 'replay' },
  );
  if (attempt.outcome.kind !== 'response' || !attempt.response) throw new Error(`no answer (${attempt.outcome.kind})`);
  return countOf(attempt.response.status, attempt.response.body) > 0;
}
