/**
 * How the Odoo web client's rpc layer reads an HTTP answer to a JSON-RPC call.
 *
 * Source: odoo/odoo addons/web/static/src/core/network/rpc.js (the XMLHttpRequest
 * version used by 17.0, 18.0 and saas/19; read at commit 778fed73):
 *   - `load` with status 502                      → ConnectionLostError
 *   - body that JSON.parse rejects                → ConnectionLostError
 *   - parsed JSON with a truthy `error` member    → RPCError (whatever the status)
 *   - any other JSON                              → resolves with `parsed.result`
 *                                                   (undefined when absent), whatever the status
 *   - XHR `error` event (refused, reset, dropped) → ConnectionLostError
 * The content type is not looked at. Version 16's POS reaches the server through the
 * legacy rpc wrapper over the same service (inferred: not read).
 *
 * Inferred: a body of JSON `null` makes the real client throw inside its `load`
 * listener, so its promise never settles: the till waits for ever. Here it counts as
 * a lost connection, which has the same local effect (the orders stay pending).
 * Post-19 master rewrote rpc.js on fetch (content-type and status checks); that is
 * not any of the versions emulated here.
 */
export type RpcAnswer =
  | { kind: 'connection-lost' }
  | { kind: 'rpc-error'; error: unknown }
  | { kind: 'result'; result: unknown };

/** An HTTP answer as the browser received it. */
export interface HttpAnswer {
  status: number;
  contentType: string | undefined;
  body: string;
}

export function classifyHttpAnswer(answer: HttpAnswer): RpcAnswer {
  if (answer.status === 502) return { kind: 'connection-lost' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return { kind: 'connection-lost' };
  }
  if (parsed === null) return { kind: 'connection-lost' };
  // A primitive has no `error`/`result` members: the client resolves with undefined.
  if (typeof parsed !== 'object') return { kind: 'result', result: undefined };
  const record = parsed as { error?: unknown; result?: unknown };
  if (record.error) return { kind: 'rpc-error', error: record.error };
  return { kind: 'result', result: record.result };
}

/** A request that never got an HTTP answer (refused, reset, timed out here). */
export function networkFailure(): RpcAnswer {
  return { kind: 'connection-lost' };
}
