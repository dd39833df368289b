// Header rules for both directions of the proxy (RFC 9110 §7.6.1). A bottom
// layer of its own: the request path applies them, and the read cache keeps
// only what a client would have been given.
import type { IncomingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Headers a LAN client may not set for itself: the gateway vouches for these. */
const GATEWAY_ASSERTED = new Set([
  'host',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'x-store-id',
  'x-device-id',
  'x-device-token',
  'x-gateway-path',
]);

/**
 * Request headers this hop has already acted on: Node answers `Expect:
 * 100-continue` itself before the handler runs, and undici refuses to send an
 * Expect header at all (every forward, and every replay of a journaled
 * request, would fail as if the uplink were down).
 */
const ANSWERED_HERE = new Set(['expect']);

const NO_TOKENS: ReadonlySet<string> = new Set();
const CLOSE_ONLY: ReadonlySet<string> = new Set(['close']);

/** Header names a Connection header declares hop-by-hop. */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  // Most requests and answers have none, or just keep-alive (hop-by-hop anyway) or close: no set to build on every one.
  if (value === undefined || value === 'keep-alive') return NO_TOKENS;
  if (value === 'close') return CLOSE_ONLY;
  const text = Array.isArray(value) ? value.join(',') : value;
  return new Set(text.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

export interface ForwardIdentity {
  clientIp: string;
  originalHost: string | undefined;
  storeId: string;
  deviceId: string | undefined;
  requestId: string;
}

/** Headers to send upstream: end-to-end headers of the client, plus what the gateway asserts. */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, who: ForwardIdentity): Record<string, string | string[]> {
  const listed = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  // Object.keys, not Object.entries: no array of pairs on every request.
  for (const name of Object.keys(incoming)) {
    const value = incoming[name];
    if (value === undefined || HOP_BY_HOP.has(name) || GATEWAY_ASSERTED.has(name) || ANSWERED_HERE.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  // The gateway is the first hop anyone upstream trusts, so it states the
  // client address rather than appending to what the client claimed.
  out['x-forwarded-for'] = who.clientIp;
  out['x-forwarded-proto'] = 'http';
  if (who.originalHost) out['x-forwarded-host'] = who.originalHost;
  out['x-store-id'] = who.storeId;
  if (who.deviceId) out['x-device-id'] = who.deviceId;
  out['x-request-id'] = who.requestId;
  return out;
}

/** Upstream response headers to pass to the client. */
export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const listed = connectionTokens(upstream.connection);
  const out: Record<string, string | string[]> = {};
  for (const name of Object.keys(upstream)) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}
