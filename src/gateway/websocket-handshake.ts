// What the gateway decides about a WebSocket upgrade before anything goes
// upstream, and the bytes it writes on the raw socket: the same rules as an
// HTTP request (admission, target check, classification), then the route's
// consent (`websocket: true`), the session cap and draining. Pure.
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { RouteConfig } from '../../edge-config/schema.js';
import type { Admission } from './admission.js';
import type { RouteTable } from './classify.js';
import { upstreamRequestHeaders, type ForwardIdentity } from '../http/headers.js';
import { checkRequestTarget } from './request-target.js';
import { isOwnPath } from './staff.js';

/** Why an upgrade was not relayed (or that it was): the label of storegw_websocket_upgrades_total. */
export type UpgradeOutcome =
  | 'accepted'
  | 'forbidden'
  | 'bad_request'
  | 'no_route'
  | 'not_websocket_route'
  | 'over_capacity'
  | 'draining'
  | 'unavailable'
  | 'upstream_refused'
  | 'upstream_timeout'
  | 'upstream_error'
  | 'client_gone';

export interface Refusal {
  status: number;
  error: string;
  message: string;
  outcome: UpgradeOutcome;
  /** Seconds, for refusals worth retrying soon. */
  retryAfter?: string;
}

export interface UpgradeRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  remoteAddress: string | undefined;
}

export type UpgradeDecision =
  | { ok: true; route: RouteConfig; /** raw path and query, forwarded unchanged */ target: string; deviceId: string | undefined }
  | { ok: false; refusal: Refusal; /** the matching route's name, '' before one matched */ route: string };

export interface UpgradeRules {
  admission: Admission;
  routes: RouteTable;
  /** Sessions open or being opened now, and the most allowed (gateway.limits.maxWebSockets). */
  open: number;
  max: number;
  draining: boolean;
}

const RETRY_AFTER_S = '5';

const refuse = (status: number, error: string, message: string, outcome: UpgradeOutcome, opts: { route?: RouteConfig; retryAfter?: string } = {}): UpgradeDecision => ({
  ok: false,
  refusal: { status, error, message, outcome, ...(opts.retryAfter !== undefined && { retryAfter: opts.retryAfter }) },
  route: opts.route?.name ?? '',
});

/** Whether the request asks for the WebSocket protocol (RFC 6455 §4.1: a GET whose Upgrade lists "websocket"). */
function asksForWebSocket(req: UpgradeRequest): boolean {
  const upgrade = req.headers.upgrade ?? '';
  return req.method === 'GET' && upgrade.split(',').some((t) => t.trim().toLowerCase() === 'websocket');
}

/**
 * Same rule as an HTTP request, token included. A browser's WebSocket API
 * cannot set headers: where `devices.tokensFile` is set, a browser POS's bus
 * is refused (403) unless something on the terminal adds X-Device-Token to the
 * handshake (a managed-browser extension or policy, a local proxy). A store
 * whose tills are plain browsers admits them by `allowCidrs` alone to have a bus.
 */
export function decideUpgrade(req: UpgradeRequest, rules: UpgradeRules): UpgradeDecision {
  if (rules.draining) return refuse(503, 'draining', 'the gateway is shutting down', 'draining', { retryAfter: RETRY_AFTER_S });
  const token = req.headers['x-device-token'];
  const admitted = rules.admission.admit(req.remoteAddress, typeof token === 'string' ? token : undefined);
  if (!admitted.ok) return refuse(403, 'forbidden', 'this device is not admitted', 'forbidden');
  const target = checkRequestTarget(req.url);
  if (!target.ok) return refuse(400, 'bad_request', target.reason, 'bad_request');
  // The gateway's own paths are never forwarded, whatever route would match them.
  if (isOwnPath(target.path)) return refuse(404, 'not_found', 'the gateway\'s own paths take no WebSocket', 'no_route');
  // Any Upgrade reaches the relay (Node hands every upgrade to it once it listens); only WebSocket is relayed.
  if (!asksForWebSocket(req)) return refuse(400, 'unsupported_upgrade', 'only WebSocket upgrades (GET, Upgrade: websocket) are relayed', 'bad_request');
  const route = rules.routes.classify({ method: req.method, path: target.path, host: hostOf(req.headers.host) });
  if (!route) return refuse(404, 'no_route', 'no route of this gateway matches the request', 'no_route');
  if (!route.websocket) return refuse(400, 'websocket_not_allowed', `route ${route.name} does not let WebSocket upgrades through`, 'not_websocket_route', { route });
  if (rules.open >= rules.max) return refuse(503, 'too_many_websockets', `${rules.max} WebSocket sessions are open, the most this gateway allows`, 'over_capacity', { route, retryAfter: RETRY_AFTER_S });
  return { ok: true, route, target: target.rawPath + target.query, deviceId: admitted.deviceId };
}

/** The same reading of Host as the ingress's: lower case, port dropped. */
export function hostOf(header: string | undefined): string {
  if (!header) return '';
  const h = header.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's X-Request-Id when it is a plain token (as the ingress keeps it), else a new one. */
export function requestIdOf(headers: IncomingHttpHeaders, fresh: () => string): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : fresh();
}

/**
 * The handshake sent upstream: the HTTP rules (hop-by-hop dropped, X-Forwarded-*,
 * X-Store-Id… asserted by the gateway), which keep Sec-WebSocket-*, Origin and
 * Cookie as end-to-end headers, plus the two hop-by-hop headers this hop
 * itself asks the next one for.
 */
export function upgradeRequestHeaders(incoming: IncomingHttpHeaders, who: ForwardIdentity): Record<string, string | string[]> {
  return { ...upstreamRequestHeaders(incoming, who), connection: 'Upgrade', upgrade: 'websocket' };
}

/** An HTTP/1.1 response head for the raw socket. Values come from Node's parser or the gateway: never CR or LF. */
export function responseHead(status: number, headers: Record<string, string | string[]>): string {
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`];
  for (const [name, value] of Object.entries(headers)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A refusal as the ingress's sendError writes it (JSON: error, message, requestId), closing the connection. */
export function refusalResponse(refusal: Refusal, requestId: string): string {
  const body = JSON.stringify({ error: refusal.error, message: refusal.message, requestId });
  return (
    responseHead(refusal.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      connection: 'close',
      'x-request-id': requestId,
      ...(refusal.retryAfter !== undefined && { 'retry-after': refusal.retryAfter }),
    }) + body
  );
}
