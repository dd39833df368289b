// The agent's one websocket to the hub: dialled out (stores sit behind NAT),
// authenticated with the gateway's bearer token, kept honest with pings, and
// redialled with jittered backoff whenever it drops. Knows nothing of the
// messages it carries; names the features the agent takes on the upgrade and
// tells it which ones this hub gives (protocol.ts, FEATURES_HEADER).
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { readSecretFile } from '../../util/secret-file.js';
import { FEATURES_HEADER, MAX_FRAME_BYTES, offers } from '../protocol.js';
import { reconnectDelay, refusedDelay, type BackoffSettings } from './backoff.js';

export interface ConnectionSettings {
  url: string;
  tokenFile: string;
  heartbeatIntervalMs: number;
  reconnect: BackoffSettings;
}

export interface ConnectionHandlers {
  /** `offered`: whether this hub said on the upgrade that it gives a feature. */
  open(offered: (feature: string) => boolean): void;
  frame(data: Buffer): void;
  closed(): void;
}

/** The hub's address as logged: userinfo and query may carry credentials. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** The shortest wait for the hub to complete the upgrade, whatever the heartbeat. */
const MIN_HANDSHAKE_TIMEOUT_MS = 5000;
const CLOSE_WAIT_MS = 1000;

export class HubConnection {
  readonly #settings: () => ConnectionSettings;
  readonly #features: readonly string[];
  readonly #on: ConnectionHandlers;
  readonly #logger: Logger;
  #ws: WebSocket | undefined;
  #open = false;
  #stopped = true;
  #timer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Failed dials since the last connection that held. */
  #failures = 0;
  /** The token file's mode warning last logged, so an outage's redials do not repeat it. */
  #modeWarning: string | undefined;
  /** Whether the current streak of failures (or of refusals) has been logged. */
  #failingLogged = false;
  #refusedLogged = false;
  #redialNow = false;

  /** `features`: what the agent takes, named to every hub it dials. */
  constructor(settings: () => ConnectionSettings, features: readonly string[], handlers: ConnectionHandlers, logger: Logger) {
    this.#settings = settings;
    this.#features = features;
    this.#on = handlers;
    this.#logger = logger;
  }

  get open(): boolean {
    return this.#open;
  }

  /** Bytes queued in the socket, not yet written: the agent sends only while this is small. */
  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#dial();
  }

  /** Sends a text frame; false when there is no open connection. `done` hears whether it reached the socket. */
  send(text: string, done?: (error?: Error) => void): boolean {
    if (!this.#open || !this.#ws) return false;
    this.#ws.send(text, done);
    return true;
  }

  /** Drops the connection and dials again at once (the hub's address or the token changed). */
  redial(): void {
    if (this.#stopped) return;
    if (this.#ws) {
      this.#redialNow = true;
      this.#ws.close(1000, 'gateway reconfigured');
      return;
    }
    clearTimeout(this.#timer);
    this.#dial();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const ws = this.#ws;
    if (!ws) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    if (ws.readyState === WebSocket.OPEN) ws.close(1001, 'gateway shutting down');
    else ws.terminate();
    const timer = setTimeout(() => ws.terminate(), CLOSE_WAIT_MS);
    await closed;
    clearTimeout(timer);
  }

  #dial(): void {
    if (this.#stopped) return;
    const s = this.#settings();
    const hub = safeUrl(s.url);
    let token: string;
    try {
      const secret = readSecretFile(s.tokenFile);
      // Said once per change, not at every redial of an outage: a file made readable while running is told at the next dial.
      if (secret.warning !== undefined && secret.warning !== this.#modeWarning) this.#logger.warn(secret.warning);
      this.#modeWarning = secret.warning;
      token = secret.value;
    } catch (e) {
      // The message names the file, never its content.
      this.#failed({ err: e, reason: 'fleet token unusable' }, hub);
      this.#schedule(refusedDelay(s.reconnect));
      return;
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(s.url, {
        headers: { authorization: `Bearer ${token}`, ...(this.#features.length > 0 && { [FEATURES_HEADER]: this.#features.join(', ') }) },
        maxPayload: MAX_FRAME_BYTES,
        handshakeTimeout: Math.max(MIN_HANDSHAKE_TIMEOUT_MS, s.heartbeatIntervalMs),
        perMessageDeflate: false,
        followRedirects: false,
      });
    } catch {
      // The error would quote the URL, credentials and all.
      this.#failed({ reason: 'fleet.hubUrl is not a usable websocket URL' }, hub);
      this.#schedule(refusedDelay(s.reconnect));
      return;
    }
    this.#ws = ws;
    let refusedWith: number | undefined;
    let openedAt: number | undefined;
    // What the hub answered the upgrade with: a hub older than features names none.
    let hubFeatures: string | string[] | undefined;
    // What ws last said went wrong, and in words where its own do not say (a frame over the limit).
    let lastError: { err: Error; reason?: string } | undefined;

    ws.on('unexpected-response', (_req, res) => {
      refusedWith = res.statusCode;
      res.resume();
      ws.terminate();
    });
    ws.on('upgrade', (res) => (hubFeatures = res.headers[FEATURES_HEADER]));
    ws.on('open', () => {
      openedAt = Date.now();
      this.#open = true;
      this.#logger.info({ hub, failedDials: this.#failures }, 'connected to the fleet hub');
      this.#failingLogged = false;
      this.#refusedLogged = false;
      this.#startHeartbeat(ws, s.heartbeatIntervalMs);
      this.#on.open((feature) => offers(hubFeatures, feature));
    });
    ws.on('message', (data: Buffer) => {
      // Whatever the hub sends, the gateway keeps running.
      try {
        this.#on.frame(data);
      } catch (e) {
        this.#logger.error({ err: e }, 'a frame from the fleet hub could not be handled');
      }
    });
    ws.on('error', (e: Error & { code?: string }) => {
      lastError = { err: e, ...(e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && { reason: `the hub sent a frame over ${MAX_FRAME_BYTES} bytes` }) };
    });
    ws.on('close', (code: number) => {
      clearInterval(this.#heartbeat);
      this.#ws = undefined;
      const wasOpen = this.#open;
      this.#open = false;
      if (wasOpen) {
        if (this.#stopped || this.#redialNow) this.#logger.info({ hub }, 'connection to the fleet hub closed');
        else this.#logger.warn({ hub, code, ...lastError }, 'connection to the fleet hub lost');
        this.#on.closed();
        // A connection that held for a heartbeat was a success; one the hub drops at once is a failure, so
        // a hub that accepts and immediately closes is not dialled in a tight loop.
        if (openedAt !== undefined && Date.now() - openedAt >= s.heartbeatIntervalMs) this.#failures = 0;
        else this.#failures++;
      } else if (refusedWith === 401 || refusedWith === 403) {
        if (!this.#refusedLogged) {
          this.#logger.error({ hub, status: refusedWith, tokenFile: s.tokenFile }, "the hub refused this gateway's token; retrying at the reconnect cap until it is accepted");
          this.#refusedLogged = true;
        }
      } else {
        this.#failed(refusedWith !== undefined ? { reason: `the hub answered the upgrade with HTTP ${refusedWith}` } : (lastError ?? { reason: `closed (${code})` }), hub);
      }
      if (this.#stopped) return;
      if (this.#redialNow) {
        this.#redialNow = false;
        this.#failures = 0;
        this.#dial();
        return;
      }
      const delay = refusedWith === 401 || refusedWith === 403 ? refusedDelay(s.reconnect) : reconnectDelay(Math.max(0, this.#failures - 1), s.reconnect);
      this.#schedule(delay);
    });
  }

  /** A failed dial: the first of a streak is a warning, the rest are debug lines until a connection holds. */
  #failed(why: { err?: unknown; reason?: string }, hub: string): void {
    this.#failures++;
    if (this.#failingLogged) this.#logger.debug({ hub, ...why, failedDials: this.#failures }, 'fleet hub still unreachable');
    else this.#logger.warn({ hub, ...why }, 'cannot reach the fleet hub; retrying with backoff (telemetry is spooled meanwhile)');
    this.#failingLogged = true;
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#dial(), delayMs);
    this.#timer.unref();
  }

  /**
   * Ping every interval; a connection whose previous ping got no pong is
   * terminated. A dead hub is therefore noticed within two intervals, however
   * quiet the TCP connection looks.
   */
  #startHeartbeat(ws: WebSocket, intervalMs: number): void {
    let answered = true;
    ws.on('pong', () => (answered = true));
    this.#heartbeat = setInterval(() => {
      if (!answered) {
        this.#logger.warn({ intervalMs }, 'the fleet hub did not answer a ping in time; dropping the connection');
        ws.terminate();
        return;
      }
      answered = false;
      ws.ping();
    }, intervalMs);
    this.#heartbeat.unref();
  }
}
