// The store LAN side: admission → target check → the gateway's own paths
// (receipts, the staff page) → classification → by the route's mode, forward
// live (path choice, forward), journal (buffered.ts) or forward live with the
// read cache behind (cached.ts).
// Nothing reaches an upstream unless a configured route matched it, and the
// upstream is always one of the configured paths.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ClassName, RouteConfig } from '../../edge-config/schema.js';
import { BodyTooLargeError, limitStream, readBounded } from './body.js';
import type { ReadCache } from '../cache/read-cache.js';
import { answerReceipt, handleBuffered, type Buffering } from './buffered.js';
import { handleCached } from './cached.js';
import { passAnswer, sendError } from './replies.js';
import type { RequestFacts } from './classify.js';
import { tryLive, type ForwardCall, type LiveFailure } from './live.js';
import { clientResponseHeaders, upstreamRequestHeaders } from '../http/headers.js';
import { callDigest, isJsonRpcPath, isReadCall, parseJsonRpc, requestIdOf } from './jsonrpc.js';
import type { Outcome } from './metrics.js';
import type { RequestPathDeps } from './path-deps.js';
import { checkRequestTarget } from './request-target.js';
import type { GatewayRuntime } from './runtime.js';
import { answerStaff, isOwnPath } from './staff.js';
import type { StaffFacts } from './staff-view.js';
import { WebSocketRelay } from './websocket.js';

export interface IngressDeps extends RequestPathDeps {
  buffering: Buffering;
  /** Answers of `cache` routes; undefined when no cache file could be had (those routes are then forwarded live only). */
  cache: ReadCache | undefined;
  /** What the staff page shows: links and journal, read when the page is asked for. */
  staffFacts(): Promise<StaffFacts>;
}

const RECEIPTS = '/_gateway/receipts/';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const RETRY_AFTER_S = '5';

function hostOf(header: string | undefined): string {
  if (!header) return '';
  const h = header.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

export function buildIngress(deps: IngressDeps): FastifyInstance {
  const app = Fastify({
    // No logger for fastify: with one, it makes a child logger and puts two
    // listeners on every response, for request logging the gateway does not do
    // (0.7–1 µs a request in --cpu-prof profiles, the listeners aside). The
    // gateway logs through deps.logger, each line with its request id; the
    // error handler below logs what fastify would have.
    logger: false,
    return503OnClosing: true,
    // A URL fastify cannot even decode (`%zz`) gets the gateway's own 400, with its request id.
    frameworkErrors: (error, _request, reply) => {
      reply.header('x-request-id', reply.request.id);
      return sendError(reply, 400, 'bad_request', error.message);
    },
    // A client-supplied id is kept so POS logs and gateway logs can be joined.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });

  // An error no handler answered (a fault of the gateway's): logged here, answered by fastify's default handler as before.
  app.setErrorHandler((error, request, reply) => {
    if (((error as { statusCode?: number }).statusCode ?? 500) >= 500) deps.logger.error({ err: error, requestId: request.id }, 'request failed');
    reply.send(error);
  });

  // A keep-alive connection would hold shutdown open until it times out.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (deps.draining()) reply.header('connection', 'close');
    done(null, payload);
  });

  // Bodies are never parsed by fastify: they are streamed upstream, or read
  // (bounded) by the handler when the gateway must look inside.
  // The same no-op is registered by name for the types tills send: fastify
  // caches the parser it finds for a named type, but looks the catch-all up
  // anew, parsing the header, on every request (1.3 % of the main thread's
  // busy time under JSON-RPC load, about 2 µs, in a --cpu-prof profile).
  app.removeAllContentTypeParsers();
  const unparsed = (_req: unknown, _payload: unknown, done: (err: null, body: undefined) => void) => done(null, undefined);
  app.addContentTypeParser(['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'], unparsed);
  app.addContentTypeParser('*', unparsed);

  // Every upgrade request reaches this listener and none reaches fastify's router (Node hands upgrades to 'upgrade' listeners only, once there is one).
  const websockets = new WebSocketRelay(deps);
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => websockets.upgrade(req, socket, head));
  app.decorate('websockets', websockets);
  // Before the server closes: it would wait for the sessions' sockets otherwise.
  app.addHook('preClose', (done) => {
    websockets.closeAll();
    done();
  });

  app.route({ method: ALL_METHODS, url: '*', handler: (request, reply) => handle(deps, request, reply) });
  // Requests the router cannot even place (e.g. absolute-form targets) get the same answer as a bad path.
  app.setNotFoundHandler((request, reply) => handle(deps, request, reply));
  return app;
}

async function handle(deps: IngressDeps, request: FastifyRequest, reply: FastifyReply) {
  const started = performance.now();
  const rt = deps.runtime.acquire();
  reply.raw.once('close', () => deps.runtime.release(rt));
  reply.header('x-request-id', request.id);
  const config = rt.loaded.config;
  let routeName = '';
  let cls: ClassName | '' = '';
  const done = (outcome: Outcome) => {
    deps.metrics.requests.record({ route: routeName, class: cls, outcome }, 1);
    if (cls !== '') deps.metrics.duration.record({ class: cls }, (performance.now() - started) / 1000);
  };
  const tooLarge = (message: string) => {
    done('too_large');
    // The rest of an oversized body is not worth reading to keep the connection.
    reply.header('connection', 'close');
    return sendError(reply, 413, 'too_large', message);
  };
  /** The whole body, or undefined when it is over `limit`. */
  const readWhole = async (stream: Readable, limit: number) => {
    try {
      return await readBounded(stream, limit);
    } catch (e) {
      if (e instanceof BodyTooLargeError) return undefined;
      throw e;
    }
  };

  const deviceToken = request.headers['x-device-token'];
  const admitted = rt.admission.admit(request.socket.remoteAddress, typeof deviceToken === 'string' ? deviceToken : undefined);
  if (!admitted.ok) {
    done('forbidden');
    deps.logger.warn({ requestId: request.id, client: request.socket.remoteAddress, reason: admitted.reason }, 'device refused');
    return sendError(reply, 403, 'forbidden', 'this device is not admitted');
  }

  const target = checkRequestTarget(request.raw.url ?? '');
  if (!target.ok) {
    done('bad_request');
    return sendError(reply, 400, 'bad_request', target.reason);
  }

  if (target.path.startsWith(RECEIPTS)) {
    done('receipt');
    return answerReceipt(deps.buffering, reply, target.path.slice(RECEIPTS.length));
  }
  if (isOwnPath(target.path)) return answerStaff({ method: request.raw.method ?? 'GET', path: target.path, reply, done, facts: deps.staffFacts });

  const { maxBodyBytes, maxJsonRpcBodyBytes } = config.gateway.limits;
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBodyBytes) return tooLarge(`request body exceeds ${maxBodyBytes} bytes`);

  const method = request.raw.method ?? 'GET';
  const facts: RequestFacts = { method, path: target.path, host: hostOf(request.headers.host) };
  let body: Readable | Buffer | null = method === 'GET' || method === 'HEAD' ? null : request.raw;
  let json: unknown;
  if (method === 'POST' && isJsonRpcPath(target.path)) {
    body = (await readWhole(request.raw, maxJsonRpcBodyBytes)) ?? null;
    if (!body) return tooLarge(`a JSON-RPC body may be at most ${maxJsonRpcBodyBytes} bytes`);
    const rpc = parseJsonRpc(target.path, body);
    if (!rpc.ok) {
      done('bad_request');
      return sendError(reply, 400, 'bad_jsonrpc', rpc.reason);
    }
    facts.jsonrpc = rpc.call;
    json = rpc.body;
  } else if (body && request.headers['content-length'] === undefined) {
    body = limitStream(body as Readable, maxBodyBytes);
  }

  const route = rt.routes.classify(facts);
  if (!route) {
    done('no_route');
    return sendError(reply, 404, 'no_route', 'no route of this gateway matches the request');
  }
  routeName = route.name;
  cls = route.class;

  const headers = upstreamRequestHeaders(request.headers, {
    clientIp: request.socket.remoteAddress ?? '',
    originalHost: request.headers.host,
    storeId: config.store.id,
    deviceId: admitted.deviceId,
    requestId: request.id,
  });
  const call: ForwardCall = { method, target: target.rawPath + target.query, headers, body };
  if (route.mode === 'buffer') {
    const whole = Buffer.isBuffer(body) ? body : body ? await readWhole(body, maxJsonRpcBodyBytes) : Buffer.alloc(0);
    if (!whole) return tooLarge(`a buffered request body may be at most ${maxJsonRpcBodyBytes} bytes`);
    const device = admitted.deviceId ?? request.socket.remoteAddress ?? 'unknown';
    return handleBuffered(deps.buffering, { rt, route, reply, done, device, json, call: { ...call, body: whole } });
  }
  if (route.mode === 'cache' && deps.cache) {
    return handleCached(deps.cache, deps.metrics, {
      route,
      reply,
      done,
      read: {
        method,
        target: call.target,
        host: request.headers.host ?? '',
        headers,
        ...(facts.jsonrpc && isReadCall(facts.jsonrpc) && { rpc: { digest: callDigest(json), id: requestIdOf(json) } }),
      },
      live: (timeoutMs) => tryLive(deps, rt, route, reply, call, timeoutMs),
      failed: (attempt) => answerFailure(route, reply, done, attempt),
    });
  }
  return forwardLive(deps, rt, route, reply, done, call);
}

async function forwardLive(deps: IngressDeps, rt: GatewayRuntime, route: RouteConfig, reply: FastifyReply, done: (o: Outcome) => void, call: ForwardCall) {
  const attempt = await tryLive(deps, rt, route, reply, call, route.timeoutMs);
  if (!attempt.ok) return answerFailure(route, reply, done, attempt);
  done('forwarded');
  // The gateway's own headers over the ERP's, on the object clientResponseHeaders
  // made: the request id (the one header handle() sets on every reply) and the path.
  const headers = clientResponseHeaders(attempt.headers);
  headers['x-request-id'] = reply.request.id;
  headers['x-gateway-path'] = attempt.path;
  passAnswer(reply, attempt.statusCode, headers, attempt.body, deps.draining());
}

/** The answer to a live failure, the same for every mode that forwards live. */
function answerFailure(route: RouteConfig, reply: FastifyReply, done: (o: Outcome) => void, attempt: LiveFailure) {
  if (attempt.path !== undefined) reply.header('x-gateway-path', attempt.path);
  // The Odoo web client reads any JSON with `error` as the server refusing,
  // and only a 502 or a body that is not JSON as the network failing.
  if (route.failureAnswer === 'offline' && attempt.failure !== 'body_too_large' && attempt.failure !== 'client_gone') {
    done(attempt.failure === 'no_path' ? 'unavailable' : attempt.failure === 'timeout' ? 'upstream_timeout' : attempt.failure === 'overloaded' ? 'overloaded' : 'upstream_error');
    reply.code(502).type('text/plain; charset=utf-8');
    return reply.send(`storegw: the ERP cannot be reached now (${attempt.failure}: ${attempt.detail})\n`);
  }
  switch (attempt.failure) {
    case 'no_path':
      done('unavailable');
      return sendError(reply, 503, 'upstream_unavailable', attempt.detail, { 'retry-after': RETRY_AFTER_S });
    case 'body_too_large':
      done('too_large');
      reply.header('connection', 'close');
      return sendError(reply, 413, 'too_large', attempt.detail);
    case 'timeout':
      done('upstream_timeout');
      return sendError(reply, 504, 'upstream_timeout', `the ERP did not answer within ${route.timeoutMs} ms`);
    case 'unreachable':
      done('upstream_error');
      return sendError(reply, 502, 'bad_gateway', `the ERP could not be reached through ${attempt.path}`);
    case 'client_gone':
      // Node's parser has usually answered 400 already; this answer reaches no one otherwise.
      done('bad_request');
      return sendError(reply, 400, 'bad_request', attempt.detail);
    case 'overloaded':
      done('overloaded');
      return sendError(reply, 503, 'overloaded', `the uplink is busy with more urgent traffic (${attempt.detail})`, { 'retry-after': RETRY_AFTER_S });
  }
}
