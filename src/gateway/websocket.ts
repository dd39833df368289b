// WebSocket upgrades (the Odoo bus, GET /websocket) through the gateway, on
// routes that say `websocket: true` only. The handshake is judged like an HTTP
// request (websocket-handshake.ts), forwarded to the chosen path's ingress,
// and once the ERP answers 101 the two sockets are piped.
//
// Why a raw TCP/TLS pipe and not `ws` on both sides: the gateway has nothing
// to say inside a session, so relaying bytes as they are keeps what client and
// ERP negotiate end to end (subprotocol, permessage-deflate, close codes, ping
// timing), costs no decode/re-encode, never holds a whole message, and
// backpressure is the sockets' own. The one thing the gateway says itself — a
// close frame when a path goes DOWN or it shuts down — needs only the frame
// boundaries of the ERP's direction (websocket-frames.ts). node:http(s) and not
// undici's upgrade(): a refusal by the ERP (401, 403…) reaches the client as
// it was, where undici turns any non-101 answer into an error.
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PathConfig, RouteConfig } from '../../edge-config/schema.js';
import { clientResponseHeaders } from '../http/headers.js';
import type { RequestPathDeps } from './path-deps.js';
import { pickUpstream } from './upstreams.js';
import { CLOSE_GOING_AWAY, CLOSE_SERVICE_RESTART, closeFrame, FrameBoundaries } from './websocket-frames.js';
import { decideUpgrade, refusalResponse, requestIdOf, responseHead, upgradeRequestHeaders, type Refusal, type UpgradeOutcome } from './websocket-handshake.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The ingress's WebSocket relay: the gateway closes the sessions of a path that went DOWN. */
    websockets: WebSocketRelay;
  }
}

/** How long a closing side may take to finish (flush, answer the close frame) before it is cut. */
const LINGER_MS = 2000;
/** TCP keepalive on both sockets: a till that vanished without a FIN does not hold a session slot for ever. */
const KEEPALIVE_MS = 30_000;
const RETRY_AFTER_S = '5';

export class WebSocketRelay {
  readonly #deps: RequestPathDeps;
  readonly #sessions = new Set<Session>();
  /** Handshakes under way: they count against the cap too, so a burst cannot overshoot it. */
  #opening = 0;

  constructor(deps: RequestPathDeps) {
    this.#deps = deps;
  }

  /** The 'upgrade' listener of the ingress's HTTP server: every upgrade request comes here, none to fastify. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // An HTTP server's sockets are net.Sockets.
    const client = socket as Socket;
    const requestId = requestIdOf(req.headers, randomUUID);
    // A till hanging up mid-handshake is routine; the session's own handler takes over once it is open.
    const handshakeError = (err: Error) => this.#deps.logger.debug({ err, requestId }, 'websocket client socket failed during the handshake');
    client.on('error', handshakeError);
    const rt = this.#deps.runtime.current;
    const { config } = rt.loaded;
    const decision = decideUpgrade(
      { method: req.method ?? '', url: req.url ?? '', headers: req.headers, remoteAddress: client.remoteAddress },
      { admission: rt.admission, routes: rt.routes, open: this.#sessions.size + this.#opening, max: config.gateway.limits.maxWebSockets, draining: this.#deps.draining() },
    );
    if (!decision.ok) return this.#refuse(client, decision.route, requestId, decision.refusal);
    const { route } = decision;
    const upstream = pickUpstream(route.class, this.#deps.pathViews(), rt.upstreams, config.classes);
    const path = upstream && config.paths.find((p) => p.name === upstream.name);
    if (!upstream || !path)
      return this.#refuse(client, route.name, requestId, {
        status: 503,
        error: 'upstream_unavailable',
        message: `no uplink can carry ${route.class} traffic now`,
        outcome: 'unavailable',
        retryAfter: RETRY_AFTER_S,
      });
    const headers = upgradeRequestHeaders(req.headers, {
      clientIp: client.remoteAddress ?? '',
      originalHost: req.headers.host,
      storeId: config.store.id,
      deviceId: decision.deviceId,
      requestId,
    });
    this.#forward({ client, head, handshakeError, requestId, route, path, target: upstream.basePath + decision.target, headers });
  }

  /** Closes the sessions riding `path` (it went DOWN): their clients reconnect, through another path if one is up. */
  closePath(path: string): void {
    let closed = 0;
    for (const s of this.#sessions) {
      if (s.path !== path) continue;
      s.close(CLOSE_SERVICE_RESTART, 'uplink down');
      closed++;
    }
    if (closed > 0) this.#deps.logger.info({ path, sessions: closed }, 'path is DOWN: its WebSocket sessions were closed for their clients to reconnect');
  }

  /** Closes every session (the gateway is shutting down). */
  closeAll(): void {
    for (const s of this.#sessions) s.close(CLOSE_GOING_AWAY, 'gateway shutting down');
  }

  #count(route: string, outcome: UpgradeOutcome): void {
    this.#deps.metrics.websocketUpgrades.inc({ route, outcome });
  }

  #refuse(client: Socket, route: string, requestId: string, refusal: Refusal): void {
    this.#count(route, refusal.outcome);
    const facts = { requestId, client: client.remoteAddress, route, status: refusal.status, reason: refusal.message };
    if (refusal.outcome === 'forbidden') this.#deps.logger.warn(facts, 'device refused');
    else this.#deps.logger.info(facts, 'websocket upgrade refused');
    if (client.writable) client.end(refusalResponse(refusal, requestId));
    client.destroySoon();
  }

  /** Sends the handshake through `path` and, on 101, opens the session; any other answer goes back to the client as it is. */
  #forward(h: { client: Socket; head: Buffer; handshakeError: (err: Error) => void; requestId: string; route: RouteConfig; path: PathConfig; target: string; headers: Record<string, string | string[]> }): void {
    const { client, requestId, route, path } = h;
    const { logger, pathOutcome } = this.#deps;
    const base = new URL(path.baseUrl);
    const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
    // The origin is the configured path's, whatever the client asked: this is no open proxy.
    const up = send(base.origin, {
      method: 'GET',
      path: h.target,
      headers: h.headers,
      // A session's connection is its own for its whole life: no pooling.
      agent: false,
      ...(path.localAddress !== undefined && { localAddress: path.localAddress }),
    });
    this.#opening++;
    let why: 'timeout' | 'client_gone' | undefined;
    const timer = setTimeout(() => {
      why = 'timeout';
      up.destroy();
    }, route.timeoutMs);
    const clientGone = () => {
      why = 'client_gone';
      up.destroy();
      client.destroy();
    };
    // A FIN counts too: the server keeps half-open sockets, and a client does not half-close a handshake it still wants.
    client.once('end', clientGone);
    client.once('close', clientGone);
    let settled = false;
    /** The handshake is over, one way or another (what it came to is counted where it is answered); false when it already was. */
    const settle = () => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      client.off('end', clientGone);
      client.off('close', clientGone);
      this.#opening--;
      return true;
    };
    const gatewayHeaders = { 'x-gateway-path': path.name, 'x-request-id': requestId };

    up.on('error', (err) => {
      if (!settle()) return;
      if (why === 'client_gone') return this.#count(route.name, 'client_gone');
      if (why === 'timeout')
        return this.#refuse(client, route.name, requestId, { status: 504, error: 'upstream_timeout', message: `the ERP did not answer the upgrade within ${route.timeoutMs} ms`, outcome: 'upstream_timeout' });
      // As for HTTP: a connection that cannot be made through a path says the path does not work.
      pathOutcome(path.name, false);
      logger.warn({ err, requestId, route: route.name, path: path.name }, 'websocket upgrade could not reach the ERP');
      this.#refuse(client, route.name, requestId, { status: 502, error: 'bad_gateway', message: `the ERP could not be reached through ${path.name}`, outcome: 'upstream_error' });
    });

    up.on('response', (res) => {
      pathOutcome(path.name, true);
      if (!settle()) return;
      this.#count(route.name, 'upstream_refused');
      logger.info({ requestId, route: route.name, path: path.name, status: res.statusCode }, 'the ERP refused a websocket upgrade');
      client.once('close', () => res.destroy());
      res.on('error', (err) => {
        logger.debug({ err, requestId }, "the ERP's refusal of a websocket upgrade broke off");
        client.destroy();
      });
      client.write(responseHead(res.statusCode ?? 502, { ...clientResponseHeaders(res.headers), ...gatewayHeaders, connection: 'close' }));
      // Ended, the connection is of no further use: a client that keeps its side open must not hold it.
      res.pipe(client).once('finish', () => client.destroy());
    });

    up.on('upgrade', (res, upSocket: Socket, upHead: Buffer) => {
      pathOutcome(path.name, true);
      // Too late (the deadline passed, or the client went): the ERP's socket goes.
      if (!settle()) return void upSocket.destroy();
      if (client.destroyed) {
        upSocket.destroy();
        return this.#count(route.name, 'client_gone');
      }
      // Shutdown began during the handshake: closeAll() has run, and a session opened now would hold the server open.
      if (this.#deps.draining()) {
        upSocket.destroy();
        return this.#refuse(client, route.name, requestId, { status: 503, error: 'draining', message: 'the gateway is shutting down', outcome: 'draining', retryAfter: RETRY_AFTER_S });
      }
      this.#count(route.name, 'accepted');
      client.off('error', h.handshakeError);
      client.write(responseHead(101, { ...clientResponseHeaders(res.headers), ...gatewayHeaders, connection: 'Upgrade', upgrade: 'websocket' }));
      const { metrics } = this.#deps;
      metrics.websocketSessions.inc({ path: path.name });
      const opened = performance.now();
      const session = new Session(path.name, client, upSocket, {
        toClient: metrics.websocketBytes.labels(path.name, 'to_client'),
        toUpstream: metrics.websocketBytes.labels(path.name, 'to_upstream'),
        log: (err) => logger.debug({ err, requestId, path: path.name }, 'websocket session socket failed'),
        ended: (bytes) => {
          this.#sessions.delete(session);
          metrics.websocketSessions.dec({ path: path.name });
          logger.info({ requestId, route: route.name, path: path.name, ...bytes, seconds: Math.round((performance.now() - opened) / 1000) }, 'websocket session ended');
        },
      });
      this.#sessions.add(session);
      logger.info({ requestId, route: route.name, path: path.name, client: client.remoteAddress }, 'websocket session opened');
      session.start(h.head, upHead);
    });
    up.end();
  }
}

interface SessionHooks {
  toClient: { inc(n: number): void };
  toUpstream: { inc(n: number): void };
  log(err: Error): void;
  ended(bytes: { bytesToClient: number; bytesToUpstream: number }): void;
}

/** One relayed session: bytes both ways with backpressure, an end or an error on either side ends both. */
class Session {
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #hooks: SessionHooks;
  /** Frame boundaries of the ERP's direction: where the gateway may put its own close frame. */
  readonly #fromErp = new FrameBoundaries();
  #closing = false;
  #open = 2;
  #linger: NodeJS.Timeout | undefined;
  #bytesToClient = 0;
  #bytesToUpstream = 0;

  constructor(
    readonly path: string,
    client: Socket,
    upstream: Socket,
    hooks: SessionHooks,
  ) {
    this.#client = client;
    this.#upstream = upstream;
    this.#hooks = hooks;
  }

  start(clientHead: Buffer, upstreamHead: Buffer): void {
    const client = this.#client;
    const upstream = this.#upstream;
    for (const s of [client, upstream]) {
      // Bus messages are small and latency matters more than packet count.
      s.setNoDelay(true);
      s.setKeepAlive(true, KEEPALIVE_MS);
      s.on('error', (err) => {
        this.#hooks.log(err);
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => this.#closed());
    }
    upstream.on('data', (chunk: Buffer) => this.#toClient(chunk));
    client.on('data', (chunk: Buffer) => this.#toUpstream(chunk));
    client.on('drain', () => upstream.resume());
    upstream.on('drain', () => client.resume());
    // A FIN is passed on as a FIN, after what came before it.
    upstream.on('end', () => {
      if (!this.#closing) client.end();
    });
    client.on('end', () => {
      if (!upstream.destroyed) upstream.end();
    });
    // The side still open finishes writing what it holds, then goes too.
    upstream.on('close', () => {
      if (!this.#closing) client.destroySoon();
    });
    client.on('close', () => upstream.destroy());
    if (upstreamHead.length > 0) this.#toClient(upstreamHead);
    if (clientHead.length > 0) this.#toUpstream(clientHead);
    client.resume();
    upstream.resume();
  }

  /** Closes the session: a close frame to the client when that splits no frame of the ERP's, else the connection is cut. */
  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#upstream.destroy();
    if (this.#fromErp.atBoundary && this.#client.writable) this.#client.end(closeFrame(code, reason));
    else this.#client.destroy();
    this.#startLinger();
  }

  #toClient(chunk: Buffer): void {
    if (this.#closing) return;
    this.#fromErp.feed(chunk);
    this.#bytesToClient += chunk.length;
    this.#hooks.toClient.inc(chunk.length);
    if (!this.#client.write(chunk)) this.#upstream.pause();
  }

  #toUpstream(chunk: Buffer): void {
    // While closing, what the client still sends (its answering close frame) goes nowhere.
    if (this.#closing) return;
    this.#bytesToUpstream += chunk.length;
    this.#hooks.toUpstream.inc(chunk.length);
    if (!this.#upstream.write(chunk)) this.#client.pause();
  }

  #startLinger(): void {
    this.#linger ??= setTimeout(() => {
      this.#client.destroy();
      this.#upstream.destroy();
    }, LINGER_MS).unref();
  }

  #closed(): void {
    this.#open--;
    if (this.#open > 0) return this.#startLinger();
    clearTimeout(this.#linger);
    this.#hooks.ended({ bytesToClient: this.#bytesToClient, bytesToUpstream: this.#bytesToUpstream });
  }
}
