// Raw HTTP/1.1 over a socket, both ends: a client that sends exact bytes and
// reads back one response (or sees the connection close), and a TCP server
// that records the exact bytes each connection carried and parses them into
// the requests an HTTP server would see, for the fuzz and security tests.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface RawResponse {
  /** Status of the first response; undefined when the connection closed (or timed out) without one. */
  status: number | undefined;
  /** Header block of the first response, lower-cased names. */
  headers: Record<string, string>;
  body: Buffer;
  /** Every byte received before the exchange ended. */
  raw: Buffer;
  /** How the exchange ended. */
  ended: 'response' | 'closed' | 'timeout';
}

/** Splits an HTTP/1.x message head; undefined while incomplete. */
function parseHead(buf: Buffer): { start: string; headers: Record<string, string>; headerBytes: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [start = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
  }
  return { start, headers, headerBytes: end + 4 };
}

/** Length of a complete chunked body at the start of `buf`, or undefined while incomplete. */
function chunkedLength(buf: Buffer): number | undefined {
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = Number.parseInt(buf.subarray(at, eol).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size)) return undefined;
    at = eol + 2;
    if (size === 0) {
      // Trailers end with an empty line.
      const end = buf.indexOf('\r\n\r\n', at - 2);
      return end < 0 ? undefined : end + 4;
    }
    if (buf.length < at + size + 2) return undefined;
    at += size + 2;
  }
}

/** Sends `payload` and resolves with the first response, or how the connection ended without one. */
export function rawRequest(url: string, payload: Buffer | string, timeoutMs = 2000, method = ''): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = connect(Number(port), hostname, () => {
      socket.write(payload);
    });
    const finish = (ended: RawResponse['ended']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const head = parseHead(raw);
      const status = head ? Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.start)?.[1]) : undefined;
      resolve({ status: Number.isInteger(status) ? status : undefined, headers: head?.headers ?? {}, body: head ? raw.subarray(head.headerBytes) : Buffer.alloc(0), raw, ended: head ? 'response' : ended });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const raw = Buffer.concat(chunks);
      const head = parseHead(raw);
      if (!head) return;
      // 1xx answers come before the real one.
      if (/^HTTP\/1\.[01] 1\d\d/.test(head.start)) {
        chunks.splice(0, chunks.length, raw.subarray(head.headerBytes));
        return;
      }
      const rest = raw.subarray(head.headerBytes);
      if (method === 'HEAD' || /^HTTP\/1\.[01] (204|304)/.test(head.start)) return finish('response');
      if (head.headers['transfer-encoding']?.includes('chunked')) {
        if (chunkedLength(rest) !== undefined) finish('response');
      } else if (head.headers['content-length'] !== undefined) {
        if (rest.length >= Number(head.headers['content-length'])) finish('response');
      }
      // Neither: the body ends with the connection.
    });
    socket.on('close', () => finish('closed'));
    socket.on('error', () => finish('closed'));
  });
}

export interface RecordedRequest {
  method: string;
  target: string;
  /** Header lines exactly as received. */
  headerLines: string[];
  body: Buffer;
}

export interface RecordedConnection {
  /** Every byte the connection carried, in order. */
  bytes: Buffer;
  /** The requests those bytes hold, parsed as a strict HTTP/1.1 server would. */
  requests: RecordedRequest[];
  /** Bytes that could not be parsed as a request (a desync, or a request cut short). */
  leftover: Buffer;
}

export interface RecordingServer {
  url: string;
  host: string;
  connections: RecordedConnection[];
  /** All requests over all connections, in the order they arrived. */
  requests(): RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A TCP server standing for the ERP ingress that keeps the exact bytes it was
 * sent and answers every request it can parse with a small JSON 200. Framing
 * follows RFC 9112 strictly: Transfer-Encoding chunked wins over a
 * Content-Length (and both present is recorded as such), no body otherwise.
 */
export async function startRecordingServer(): Promise<RecordingServer> {
  const connections: RecordedConnection[] = [];
  const arrived: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const conn: RecordedConnection = { bytes: Buffer.alloc(0), requests: [], leftover: Buffer.alloc(0) };
    connections.push(conn);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      conn.bytes = Buffer.concat([conn.bytes, chunk]);
      conn.leftover = Buffer.concat([conn.leftover, chunk]);
      for (;;) {
        const head = parseHead(conn.leftover);
        if (!head) return;
        const [method = '', target = ''] = head.start.split(' ');
        const rest = conn.leftover.subarray(head.headerBytes);
        let bodyLength: number | undefined;
        let body: Buffer;
        if (head.headers['transfer-encoding'] !== undefined) {
          bodyLength = chunkedLength(rest);
          if (bodyLength === undefined) return;
          body = rest.subarray(0, bodyLength);
        } else {
          bodyLength = head.headers['content-length'] === undefined ? 0 : Number(head.headers['content-length']);
          if (!Number.isSafeInteger(bodyLength) || rest.length < bodyLength) return;
          body = rest.subarray(0, bodyLength);
        }
        const recorded = { method, target, headerLines: conn.leftover.subarray(0, head.headerBytes - 4).toString('latin1').split('\r\n').slice(1), body };
        conn.requests.push(recorded);
        arrived.push(recorded);
        conn.leftover = rest.subarray(bodyLength);
        const answer = '{"result":true}';
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${answer.length}\r\n\r\n${answer}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    connections,
    requests: () => [...arrived],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A complete request: method, target, header lines and body; CRLF line ends; Content-Length unless told otherwise. */
export function buildRequest(method: string, target: string, headers: [string, string][], body: Buffer | string = '', opts: { contentLength?: boolean; version?: string } = {}): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const lines = [`${method} ${target} ${opts.version ?? 'HTTP/1.1'}`, ...headers.map(([n, v]) => `${n}: ${v}`)];
  if (opts.contentLength ?? (b.length > 0 || method === 'POST' || method === 'PUT')) lines.push(`Content-Length: ${b.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), b]);
}
