// A stand-in for the fleet hub, for agent tests: a websocket endpoint that
// checks the bearer token before the upgrade (401 otherwise), records and
// validates every frame a gateway sends, sends commands and waits for their
// results, can stop answering pings, and can be stopped and started again on
// the same port. Like a hub older than acks unless told to offer them; then it
// acks only what the test says (ack()).
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ACKS_FEATURE, FEATURES_HEADER, message, offers, parseGatewayMessage, type AckMessage, type CommandName, type GatewayMessage, type ResultMessage } from '../../src/fleet/protocol.js';

export interface FakeHub {
  /** ws://127.0.0.1:<port>/v1/gateways/connect */
  url: string;
  port: number;
  /** Every valid message received, in arrival order. */
  messages: GatewayMessage[];
  /** Frames that failed the protocol's validation: a correct agent sends none. */
  invalid: string[];
  /** Upgrades refused for a wrong or missing token. */
  refused(): number;
  /** Connections accepted since the hub was started. */
  accepted(): number;
  connected(): boolean;
  /** Resolves with the first recorded message from index `since` on (default: all, past or future) that matches. */
  waitFor<M extends GatewayMessage = GatewayMessage>(match: (m: GatewayMessage) => boolean, opts?: { since?: number; timeoutMs?: number }): Promise<M>;
  /** Sends a command on the open connection and resolves with its result. */
  command(command: CommandName | string, args?: Record<string, unknown>, opts?: { id?: string; timeoutMs?: number }): Promise<ResultMessage>;
  /** Sends a raw frame on the open connection. */
  send(frame: string | Buffer): void;
  /** Acknowledges messages by id on the open connection (offerAcks). */
  ack(ids: string[]): void;
  /** The features header of each upgrade accepted, in order. */
  asked: (string | string[] | undefined)[];
  answerPings(answer: boolean): void;
  /** Closes the listener and drops every connection, as a hub going away does. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

export async function startFakeHub(opts: { token: string; port?: number; offerAcks?: boolean }): Promise<FakeHub> {
  const messages: GatewayMessage[] = [];
  const asked: (string | string[] | undefined)[] = [];
  const invalid: string[] = [];
  const waiters = new Set<{ match: (m: GatewayMessage) => boolean; resolve: (m: GatewayMessage) => void }>();
  const sockets = new Set<Socket>();
  let refused = 0;
  let accepted = 0;
  let answerPings = true;
  let current: WebSocket | undefined;
  let server: Server;
  // Pongs are sent by hand, so that the hub can fall silent.
  const wss = new WebSocketServer({ noServer: true, autoPong: false });
  wss.on('headers', (headers, req) => {
    if (opts.offerAcks && offers(req.headers[FEATURES_HEADER], ACKS_FEATURE)) headers.push(`${FEATURES_HEADER}: ${ACKS_FEATURE}`);
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = createServer((_req, res) => res.writeHead(404).end());
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.on('upgrade', (req, socket, head) => {
        if (req.headers.authorization !== `Bearer ${opts.token}`) {
          refused++;
          socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          accepted++;
          asked.push(req.headers[FEATURES_HEADER]);
          current = ws;
          ws.on('ping', (data) => {
            if (answerPings) ws.pong(data);
          });
          ws.on('message', (data: Buffer) => {
            const parsed = parseGatewayMessage(data);
            if (!parsed.ok) {
              invalid.push(`${parsed.error.code}: ${parsed.error.message}`);
              return;
            }
            messages.push(parsed.message);
            for (const w of waiters) {
              if (!w.match(parsed.message)) continue;
              waiters.delete(w);
              w.resolve(parsed.message);
            }
          });
          ws.on('close', () => {
            if (current === ws) current = undefined;
          });
        });
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });

  const port = await listen(opts.port ?? 0);

  const waitFor = <M extends GatewayMessage>(match: (m: GatewayMessage) => boolean, { since = 0, timeoutMs = 10_000 } = {}): Promise<M> => {
    const seen = messages.slice(since).find(match);
    if (seen) return Promise.resolve(seen as M);
    return new Promise<M>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: GatewayMessage) => {
          clearTimeout(timer);
          resolve(m as M);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`fake hub: no matching message within ${timeoutMs} ms (got ${messages.map((m) => m.type).join(', ')})`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  const send = (frame: string | Buffer) => {
    if (!current) throw new Error('fake hub: no gateway connected');
    current.send(frame);
  };

  return {
    url: `ws://127.0.0.1:${port}/v1/gateways/connect`,
    port,
    messages,
    invalid,
    refused: () => refused,
    accepted: () => accepted,
    connected: () => current !== undefined,
    waitFor,
    async command(command, args = {}, o = {}) {
      const id = o.id ?? randomUUID();
      const result = waitFor<ResultMessage>((m) => m.type === 'result' && m.re === id, { since: messages.length, ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }) });
      send(JSON.stringify({ type: 'command', id, ts: Date.now(), command, args }));
      return result;
    },
    send,
    ack(ids) {
      send(JSON.stringify(message<AckMessage>({ type: 'ack', ids })));
    },
    asked,
    answerPings(answer) {
      answerPings = answer;
    },
    async stop() {
      for (const ws of wss.clients) ws.terminate();
      for (const s of sockets) s.destroy();
      current = undefined;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async restart() {
      await listen(port);
    },
  };
}
