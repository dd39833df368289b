import { request } from 'undici';

/** What came back over HTTP, before any JSON-RPC reading. */
export interface HttpReply {
  status: number;
  contentType: string | undefined;
  body: string;
}

/**
 * POSTs a JSON body and reads the whole answer. Throws when no HTTP answer arrives:
 * refused, reset, dropped mid-body, aborted, or no answer within `timeoutMs` (the real
 * clients wait for ever; emulators must end).
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<HttpReply> {
  const res = await request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
  });
  const text = await res.body.text();
  const contentType = res.headers['content-type'];
  return { status: res.statusCode, contentType: Array.isArray(contentType) ? contentType[0] : contentType, body: text };
}

/** A JSON-RPC 2.0 `call` envelope, as the web client builds it. */
export function jsonRpcCall(id: number, params: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: '2.0', method: 'call', id, params });
}
