// A plain node:http upstream for tests that need exact control over what the
// "ERP" sees and when it answers.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { parseGatewayConfig } from '../../edge-config/load.js';
import type { ClassName, ClassSettingsConfig } from '../../edge-config/schema.js';
import { createUpstream, type Upstream } from '../../src/gateway/upstreams.js';

/** One gateway uplink named fiber (pool and slots, as the gateway builds them) to `baseUrl`, and the default classes; `pathLines`: more of the path's settings, as YAML lines. */
export function uplinkTo(baseUrl: string, pathLines = ''): { upstream: Upstream; classes: Record<ClassName, ClassSettingsConfig> } {
  const { config } = parseGatewayConfig(
    `version: 1
store: { id: s, region: r }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
paths:
  - name: fiber
    baseUrl: ${baseUrl}
${pathLines}
routes:
  - name: all
    match: { path: /* }
    class: critical
buffer: { path: ./journal.db }
cache: { path: ./cache.db }
`,
    '/tmp/gateway.yaml',
  );
  return { upstream: createUpstream(config.paths[0]!, config.classes, { waited: () => {}, shed: () => {} }), classes: config.classes };
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

export interface TestUpstream {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void = echo): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // CONNECT requests reach a server through this event only.
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Answers with what it received: method, url, headers and body size. */
export function echo(req: IncomingMessage, res: ServerResponse): void {
  let bytes = 0;
  req.on('data', (c: Buffer) => (bytes += c.length));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyBytes: bytes }));
  });
}

/** Sends raw bytes to host:port and returns everything the server sent back before closing (or timeoutMs). */
export function rawExchange(url: string, payload: string, timeoutMs = 2000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => socket.write(payload));
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', finish);
    socket.on('error', finish);
  });
}
