// Reading Odoo JSON-RPC calls the way the ERP simulator needs them, and
// building its answers. Pure: no sockets, no state.
//
// Error answers follow odoo/http.py's JsonRPCDispatcher.handle_error and
// serialize_exception (16.0-19.0): HTTP 200, `error: {code: 200, message:
// 'Odoo Server Error', data: {name: '<module>.<Class>', message, arguments,
// context, debug}}`; a path no route matches gives code 404 / '404: Not Found'.
// A method the model lacks is odoo/api.py call_kw's AttributeError
// ("The method 'm' does not exist on the model 'x'", as 17.0-19.0 word it).

export interface OdooCall {
  id: unknown;
  model: string;
  method: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

export interface Product {
  id: number;
  display_name: string;
  list_price: number;
  barcode: string;
}

const READ_PREFIXES = ['search', 'read', 'name_search', 'fields_get', 'load_', 'get_', 'default_get'];
const DEFAULT_LIMIT = 80;
const CATALOG_SIZE = 1000;

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function isOdooPath(path: string): boolean {
  return path === '/jsonrpc' || path === '/web/dataset/call_kw' || path.startsWith('/web/dataset/call_kw/');
}

export function isRead(method: string): boolean {
  return READ_PREFIXES.some((p) => method.startsWith(p));
}

/**
 * Parses a call_kw or an execute_kw body; `path` says which one to expect.
 * The call_kw URL's trailing /model/method is ignored, as Odoo ignores it: the
 * body is what runs.
 */
export function parseOdooCall(path: string, body: unknown): OdooCall | { error: string } {
  if (!isObject(body) || !isObject(body.params)) return { error: 'a JSON-RPC object with a params object expected' };
  const id = body.id ?? null;
  const p = body.params;
  if (path === '/jsonrpc') {
    const a = p.args;
    if (p.service !== 'object' || p.method !== 'execute_kw' || !Array.isArray(a) || typeof a[3] !== 'string' || typeof a[4] !== 'string') {
      return { error: 'params {service: "object", method: "execute_kw", args: [db, uid, password, model, method, args, kwargs]} expected' };
    }
    return { id, model: a[3], method: a[4], args: Array.isArray(a[5]) ? a[5] : [], kwargs: isObject(a[6]) ? a[6] : {} };
  }
  if (typeof p.model !== 'string' || typeof p.method !== 'string') return { error: 'params.model and params.method expected' };
  return { id, model: p.model, method: p.method, args: Array.isArray(p.args) ? p.args : [], kwargs: isObject(p.kwargs) ? p.kwargs : {} };
}

/** The id of whatever JSON-RPC request `body` is, for error answers to bodies that did not parse as a call. */
export function requestId(body: unknown): unknown {
  return isObject(body) ? (body.id ?? null) : null;
}

/** What a read answers: a deterministic catalog for product.product search_read, nothing otherwise. */
export function readResult(call: OdooCall): Product[] {
  if (call.model !== 'product.product' || call.method !== 'search_read') return [];
  const limit = typeof call.kwargs.limit === 'number' ? call.kwargs.limit : DEFAULT_LIMIT;
  return Array.from({ length: Math.max(0, Math.min(Math.floor(limit), CATALOG_SIZE)) }, (_, i) => ({
    id: i + 1,
    display_name: `Product ${i + 1}`,
    list_price: Math.round((1 + ((i * 37) % 100) / 10) * 100) / 100,
    barcode: String(4006381333900 + i),
  }));
}

export function rpcResult(id: unknown, result: unknown): { jsonrpc: '2.0'; id: unknown; result: unknown } {
  return { jsonrpc: '2.0', id, result };
}

export function rpcError(id: unknown, code: number, message: string): { jsonrpc: '2.0'; id: unknown; error: { code: number; message: string } } {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

export interface OdooError {
  code: number;
  message: string;
  data: { name: string; message: string; arguments: unknown[]; context: Record<string, unknown>; debug: string };
}

/** An exception raised while serving a call, as Odoo serializes it; `name` is the Python class with its module. */
export function serverError(name: string, message: string): OdooError {
  const cls = name.slice(name.lastIndexOf('.') + 1);
  return {
    code: 200,
    message: 'Odoo Server Error',
    data: { name, message, arguments: [message], context: {}, debug: `Traceback (most recent call last):\n  File "erp-simulator", line 1, in <simulated>\n${cls}: ${message}\n` },
  };
}

export function missingMethod(model: string, method: string): OdooError {
  return serverError('builtins.AttributeError', `The method '${method}' does not exist on the model '${model}'`);
}

export function userError(message: string): OdooError {
  return serverError('odoo.exceptions.UserError', message);
}

export function notFound(): OdooError {
  const message = '404 Not Found: The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.';
  return { ...serverError('werkzeug.exceptions.NotFound', message), code: 404, message: '404: Not Found' };
}

export function rpcFailure(id: unknown, error: OdooError): { jsonrpc: '2.0'; id: unknown; error: OdooError } {
  return { jsonrpc: '2.0', id, error };
}
