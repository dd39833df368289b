// The gateways' websockets: the token is checked on the upgrade request before
// the handshake completes (401 and nothing kept otherwise); the first message
// must be a hello naming the token's gateway; one live connection per gateway
// (a newer one replaces the older); ws ping/pong heartbeats; a per-connection
// rate limit; and sends that give up on a gateway that does not read instead
// of buffering for it without bound. Messages are parsed with the shared
// protocol schemas; anything unusable gets an error reply and changes nothing.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { ACKS_FEATURE, FEATURES_HEADER, MAX_ACK_IDS, MAX_FRAME_BYTES, message, offers, parseGatewayMessage, type AckMessage, type ErrorMessage, type GatewayMessage, type HelloMessage, type HubMessage, type PathTelemetry } from '../protocol.js';
import type { GatewayIdentity, HubAuth } from './auth.js';
import { MessageRateLimit, type RateLimitSettings } from './rate-limit.js';

export const CONNECT_PATH = '/v1/gateways/connect';

/** Close codes the hub uses, so a gateway (and its operator) can tell why. */
export const CLOSE_CODES = {
  shutdown: 1001,
  replaced: 4001,
  helloTimeout: 4002,
  wrongGateway: 4003,
  rateLimited: 4008,
  revoked: 4401,
} as const;

export interface ConnectionSettings {
  heartbeatIntervalMs: number;
  helloTimeoutMs: number;
  maxBufferedBytes: number;
  rateLimit: RateLimitSettings;
}

export type AfterHelloMessage = Exclude<GatewayMessage, HelloMessage>;

export interface ConnectionHandlers {
  /** A valid hello for the token's gateway; `first` on a connection's first hello (it is now the gateway's live one). */
  hello(conn: GatewayConnection, msg: HelloMessage, first: boolean): void;
  message(conn: GatewayConnection, msg: AfterHelloMessage): void;
  /** `wasLive`: it was the gateway's live connection (not replaced, and it had said hello). */
  closed(conn: GatewayConnection, wasLive: boolean, code: number): void;
}

/** Heartbeat ticks per interval; each pings the connections of its slice. */
const HEARTBEAT_SLICES = 16;
let nextSlice = 0;

export class GatewayConnection {
  readonly id: string;
  readonly identity: GatewayIdentity;
  readonly remote: string;
  readonly connectedAt: number;
  /** The gateway asked for acks on the upgrade (and was told it gets them): it keeps what is not acknowledged and sends it again. */
  readonly acks: boolean;
  /** What the gateway last reported (hello or telemetry, by its timestamps): the hub's live view of it. */
  reported: { ts: number; configVersion: string; paths: PathTelemetry[] } | undefined;
  alive = true;
  ready = false;
  /** Which heartbeat tick pings it (see Connections). */
  readonly slice = nextSlice++ % HEARTBEAT_SLICES;
  readonly limiter: MessageRateLimit;
  readonly #ws: WebSocket;
  readonly #maxBuffered: number;
  readonly #logger: Logger;
  #slow = false;

  constructor(ws: WebSocket, identity: GatewayIdentity, remote: string, acks: boolean, settings: ConnectionSettings, logger: Logger) {
    this.#ws = ws;
    this.id = identity.id;
    this.identity = identity;
    this.remote = remote;
    this.acks = acks;
    this.connectedAt = Date.now();
    this.limiter = new MessageRateLimit(settings.rateLimit, this.connectedAt);
    this.#maxBuffered = settings.maxBufferedBytes;
    this.#logger = logger;
  }

  /** Queues a message unless the gateway is not reading what it was already sent. False: not sent. */
  send(msg: HubMessage): boolean {
    if (this.#ws.readyState !== WebSocket.OPEN) return false;
    const text = JSON.stringify(msg);
    // One frame always fits an empty buffer (a config.apply may be larger than the bound).
    const buffered = this.#ws.bufferedAmount;
    if (buffered > 0 && buffered + text.length > this.#maxBuffered) {
      if (!this.#slow) this.#logger.warn({ gateway: this.id, bufferedBytes: buffered }, 'gateway is not reading; messages to it are dropped until it catches up');
      this.#slow = true;
      return false;
    }
    this.#slow = false;
    this.#ws.send(text);
    return true;
  }

  /** Tells a gateway that takes acks which of its messages are committed; others are never sent one (an older agent does not know the type). */
  ack(ids: readonly string[]): void {
    if (!this.acks) return;
    // Never dropped for a slow reader as other messages are: an ack lost costs a resend, and acks are small.
    for (let i = 0; i < ids.length; i += MAX_ACK_IDS) {
      if (this.#ws.readyState !== WebSocket.OPEN) return;
      this.#ws.send(JSON.stringify(message<AckMessage>({ type: 'ack', ids: ids.slice(i, i + MAX_ACK_IDS) })));
    }
  }

  sendError(code: string, text: string, re: string | undefined): void {
    this.send(message<ErrorMessage>({ type: 'error', error: { code, message: text }, ...(re !== undefined && { re }) }));
  }

  report(ts: number, configVersion: string, paths: PathTelemetry[]): void {
    if (this.reported === undefined || ts >= this.reported.ts) this.reported = { ts, configVersion, paths };
  }

  /** Set once the hub decided to close it: what the gateway still sends is not handled. */
  get closing(): boolean {
    return this.#ws.readyState !== WebSocket.OPEN;
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  ping(): void {
    try {
      this.#ws.ping();
    } catch {
      // not open any more: its close event follows
    }
  }

  terminate(): void {
    this.#ws.terminate();
  }
}

function refuse(socket: Duplex, status: number, reason: string, extraHeaders = ''): void {
  const body = JSON.stringify({ error: reason.toLowerCase().replace(/ /g, '_') });
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${extraHeaders}\r\n${body}`);
}

function frameBytes(data: RawData): Buffer {
  return Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

export class Connections {
  readonly #auth: () => HubAuth;
  readonly #settings: ConnectionSettings;
  readonly #handlers: ConnectionHandlers;
  readonly #logger: Logger;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });
  /** Every open connection, hello or not: heartbeats and shutdown reach them all. */
  readonly #all = new Set<GatewayConnection>();
  /** Set by close(): a gateway that redials while the hub shuts down is refused, not attached to a server about to close. */
  #closing = false;
  /** The live connection of each gateway. */
  readonly #live = new Map<string, GatewayConnection>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(auth: () => HubAuth, settings: ConnectionSettings, handlers: ConnectionHandlers, logger: Logger) {
    this.#auth = auth;
    this.#settings = settings;
    this.#handlers = handlers;
    this.#logger = logger;
    // The answer to a gateway that asked for acks: this hub gives them. One that did not ask hears nothing new.
    this.#wss.on('headers', (headers: string[], req: IncomingMessage) => {
      if (offers(req.headers[FEATURES_HEADER], ACKS_FEATURE)) headers.push(`${FEATURES_HEADER}: ${ACKS_FEATURE}`);
    });
    // One timer for all connections, a slice of them per tick: pinging ten
    // thousand sockets in one go would stall the event loop (and every
    // command's answer) for a quarter of a second. Each connection is still
    // pinged once per interval, and one that did not answer its previous ping
    // is gone.
    let tick = 0;
    this.#heartbeat = setInterval(() => {
      const slice = tick++ % HEARTBEAT_SLICES;
      for (const conn of this.#all) {
        if (conn.slice !== slice) continue;
        if (!conn.alive) {
          this.#logger.warn({ gateway: conn.id, remote: conn.remote }, 'gateway did not answer the heartbeat; connection terminated');
          conn.terminate();
          continue;
        }
        conn.alive = false;
        conn.ping();
      }
    }, settings.heartbeatIntervalMs / HEARTBEAT_SLICES);
  }

  /** For the HTTP server's 'upgrade' event. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A client that resets mid-handshake must not become an uncaught error.
    socket.on('error', () => socket.destroy());
    if (this.#closing) return refuse(socket, 503, 'Service Unavailable', 'Retry-After: 1\r\n');
    const path = (req.url ?? '/').split('?')[0];
    if (path !== CONNECT_PATH) return refuse(socket, 404, 'Not Found');
    const identity = this.#auth().gateway(req.headers.authorization);
    const remote = req.socket.remoteAddress ?? 'unknown';
    if (identity === undefined) {
      this.#logger.warn({ remote }, 'gateway connection refused: missing or unknown token');
      return refuse(socket, 401, 'Unauthorized', 'WWW-Authenticate: Bearer realm="storegw-hub"\r\n');
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#attach(ws, identity, remote, offers(req.headers[FEATURES_HEADER], ACKS_FEATURE)));
  };

  #attach(ws: WebSocket, identity: GatewayIdentity, remote: string, acks: boolean): void {
    const conn = new GatewayConnection(ws, identity, remote, acks, this.#settings, this.#logger);
    this.#all.add(conn);
    const helloTimer = setTimeout(() => {
      if (conn.ready) return;
      this.#logger.warn({ gateway: conn.id, remote }, 'no hello in time; connection closed');
      conn.close(CLOSE_CODES.helloTimeout, 'no hello in time');
    }, this.#settings.helloTimeoutMs);
    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data, isBinary) => this.#onMessage(conn, data, isBinary));
    // ws reports protocol violations (an oversized frame: 1009) here, then closes.
    ws.on('error', (e) => this.#logger.warn({ gateway: conn.id, remote, err: e }, 'gateway connection error'));
    ws.on('close', (code) => {
      clearTimeout(helloTimer);
      this.#all.delete(conn);
      const wasLive = this.#live.get(conn.id) === conn;
      if (wasLive) this.#live.delete(conn.id);
      this.#safely(conn, undefined, () => this.#handlers.closed(conn, wasLive, code));
    });
  }

  #onMessage(conn: GatewayConnection, data: RawData, isBinary: boolean): void {
    if (conn.closing) return;
    const verdict = conn.limiter.take(Date.now());
    if (verdict === 'close') {
      this.#logger.warn({ gateway: conn.id, remote: conn.remote }, 'gateway keeps exceeding the message rate limit; connection closed');
      conn.close(CLOSE_CODES.rateLimited, 'message rate limit exceeded');
      return;
    }
    if (isBinary) return conn.sendError('malformed', 'messages are JSON in text frames', undefined);
    const parsed = parseGatewayMessage(frameBytes(data));
    if (verdict === 'reject') {
      // The id lets the gateway resend exactly what was refused (spooled telemetry, say).
      const re = parsed.ok ? parsed.message.id : parsed.error.re;
      return conn.sendError('rate_limited', `more than ${this.#settings.rateLimit.messagesPerSec} messages/s; this one was not taken, send it again later`, re);
    }
    if (!parsed.ok) {
      this.#logger.debug({ gateway: conn.id, code: parsed.error.code, problem: parsed.error.message }, 'message refused');
      return conn.sendError(parsed.error.code, parsed.error.message, parsed.error.re);
    }
    const msg = parsed.message;
    if (msg.type === 'hello') return this.#safely(conn, msg.id, () => this.#hello(conn, msg));
    if (!conn.ready) return conn.sendError('hello_required', 'the first message on a connection is hello', msg.id);
    this.#safely(conn, msg.id, () => this.#handlers.message(conn, msg));
  }

  #hello(conn: GatewayConnection, msg: HelloMessage): void {
    if (msg.store.id !== conn.id) {
      this.#logger.warn({ gateway: conn.id, claimed: msg.store.id, remote: conn.remote }, 'hello names another gateway than its token; connection closed');
      conn.sendError('wrong_gateway', `this token belongs to gateway ${conn.id}, not ${msg.store.id}`, msg.id);
      conn.close(CLOSE_CODES.wrongGateway, 'hello names another gateway');
      return;
    }
    conn.report(msg.ts, msg.configVersion, msg.paths);
    const first = !conn.ready;
    if (first) {
      conn.ready = true;
      const older = this.#live.get(conn.id);
      this.#live.set(conn.id, conn);
      if (older) {
        this.#logger.warn({ gateway: conn.id, older: older.remote, newer: conn.remote }, 'gateway connected again; the older connection is replaced');
        older.close(CLOSE_CODES.replaced, 'replaced by a newer connection');
      }
    }
    this.#handlers.hello(conn, msg, first);
  }

  /** A handler's failure (a full disk, a bug) costs that message an error reply, never the hub. */
  #safely(conn: GatewayConnection, re: string | undefined, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#logger.error({ gateway: conn.id, err: e }, 'could not handle a gateway message');
      if (re !== undefined) conn.sendError('internal', 'the hub could not handle this message', re);
    }
  }

  get(id: string): GatewayConnection | undefined {
    return this.#live.get(id);
  }

  get size(): number {
    return this.#live.size;
  }

  /** After the tokens file was reloaded: connections whose token is gone or changed end. */
  revokeStale(): number {
    let n = 0;
    for (const conn of this.#all) {
      if (this.#auth().stillValid(conn.identity)) continue;
      this.#logger.warn({ gateway: conn.id }, 'gateway token revoked; connection closed');
      conn.close(CLOSE_CODES.revoked, 'token revoked');
      n++;
    }
    return n;
  }

  /** Closes every connection (gateways reconnect to another replica or later) and stops the heartbeat. */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#heartbeat);
    const conns = [...this.#all];
    for (const c of conns) c.close(CLOSE_CODES.shutdown, 'hub shutting down');
    const deadline = Date.now() + 2000;
    while (this.#all.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.#all) c.terminate();
    // Their close events (and what handlers do then) come before the caller closes the store.
    while (this.#all.size > 0 && Date.now() < deadline + 1000) await new Promise((r) => setTimeout(r, 10));
  }
}
