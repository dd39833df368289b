// Reading Odoo JSON-RPC calls the way the ERP simulator needs them: what is
// called, whether it writes, and which POS orders a sync carries. Pure.

export interface OdooCall {
  id: unknown;
  model: string;
  method: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

const READ_PREFIXES = ['search', 'read', 'name_search', 'fields_get', 'load_', 'get_', 'default_get'];

export function isRead(method: string): boolean {
  return READ_PREFIXES.some((p) => method.startsWith(p));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parses a call_kw or execute_kw body; `path` decides which form is expected. */
export function parseOdooCall(path: string, body: unknown): OdooCall | { error: string } {
  if (!isObject(body) || !isObject(body.params)) return { error: 'JSON-RPC body with a params object expected' };
  const p = body.params;
  if (path === '/jsonrpc') {
    const a = p.args;
    if (p.service !== 'object' || !Array.isArray(a) || typeof a[3] !== 'string' || typeof a[4] !== 'string') return { error: 'execute_kw with [db, uid, password, model, method, args, kwargs] expected' };
    return { id: body.id ?? null, model: a[3], method: a[4], args: Array.isArray(a[5]) ? a[5] : [], kwargs: isObject(a[6]) ? a[6] : {} };
  }
  if (typeof p.model !== 'string' || typeof p.method !== 'string') return { error: 'params.model and params.method expected' };
  return { id: body.id ?? null, model: p.model, method: p.method, args: Array.isArray(p.args) ? p.args : [], kwargs: isObject(p.kwargs) ? p.kwargs : {} };
}

/** The POS orders in a pos.order sync: params.args[0] is the list; each order's uuid as Odoo versions name it. */
export function posOrders(call: OdooCall): { uuid: string | null }[] {
  const list = call.args[0];
  if (call.model !== 'pos.order' || !Array.isArray(list)) return [{ uuid: null }];
  return list.map((o: unknown) => {
    if (!isObject(o)) return { uuid: null };
    const data = isObject(o.data) ? o.data : {};
    const uuid = o.uuid ?? data.uuid ?? data.uid ?? o.id;
    return { uuid: typeof uuid === 'string' || typeof uuid === 'number' ? String(uuid) : null };
  });
}

/** A deterministic catalog, so tests and benchmarks see the same answers. */
export function products(limit: number): { id: number; display_name: string; list_price: number; barcode: string }[] {
  return Array.from({ length: Math.max(0, Math.min(limit, 1000)) }, (_, i) => ({
    id: i + 1,
    display_name: `Product ${i + 1}`,
    list_price: Math.round((1 + ((i * 37) % 100) / 10) * 100) / 100,
    barcode: String(4006381333900 + i),
  }));
}
