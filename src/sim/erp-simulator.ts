// An Odoo-like ERP for tests, benchmarks and the demo. It commits writes in
// memory, deduplicates them by Idempotency-Key and by POS order uuid (as an
// ERP that honours keys does), serves bulk bytes both ways, echoes what it was
// sent, and can be told to fail, hang, slow down, drop the connection before
// or after committing, or serve with bounded capacity.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { BehaviorState, parseBehavior, type SimBehavior } from './behavior.js';
import { CapacityGate, parseCapacity } from './capacity.js';
import { Ledger, type SimOrder } from './ledger.js';
import { isOdooPath, isRead, parseOdooCall, readResult, requestId, rpcError, rpcResult } from './odoo-rpc.js';

export type { SimBehavior, SimMode } from './behavior.js';
export type { SimOrder } from './ledger.js';

export interface ErpSimulator {
  /** e.g. http://127.0.0.1:34567 */
  url: string;
  port: number;
  /** Throws on an invalid behaviour. */
  setBehavior(b: SimBehavior): void;
  /** At most `concurrency` requests served at once, each taking serviceMs; the rest wait in arrival order. null: unbounded. */
  setCapacity(c: { concurrency: number; serviceMs: number } | null): void;
  /** Every committed write, in commit order. */
  commits(): SimOrder[];
  /** Write requests answered at least partly from memory because their key or an order uuid was already committed. */
  duplicates(): number;
  /** Requests seen on any path, control endpoints included. */
  received(): number;
  /** Clears commits, counters, behaviour and capacity. */
  reset(): void;
  /** Closes the server and destroys open sockets, hung requests' too. */
  close(): Promise<void>;
}

const CONTROL_PATHS = new Set(['/_sim/control', '/_sim/capacity', '/_sim/state', '/_sim/commits', '/_sim/reset']);

/** Byte i of every blob is i mod 256, so a client can check whatever range it got. */
const BLOB_CHUNK = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => i % 256));

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The body as JSON, or undefined when it is empty or not JSON (validation then explains what was expected). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  try {
    return JSON.parse((await readAll(req)).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function blob(bytes: number): Readable {
  let left = bytes;
  return new Readable({
    read() {
      const n = Math.min(left, BLOB_CHUNK.length);
      left -= n;
      this.push(n === 0 ? null : n === BLOB_CHUNK.length ? BLOB_CHUNK : BLOB_CHUNK.subarray(0, n));
    },
  });
}

/** Headers as the client sent them: lower-cased names, a repeated header as an array rather than merged the way Node merges them. */
function rawHeaders(raw: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const seen = out[name];
    out[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}

function header(request: FastifyRequest, name: string): string | null {
  const v = request.headers[name];
  return typeof v === 'string' ? v : null;
}

/** Ends the exchange without an answer: the client sees the connection reset or closed. */
function drop(reply: FastifyReply): FastifyReply {
  reply.hijack();
  reply.raw.destroy();
  return reply;
}

export async function startErpSimulator(opts: { host?: string; port?: number } = {}): Promise<ErpSimulator> {
  const behavior = new BehaviorState();
  const gate = new CapacityGate();
  const ledger = new Ledger();
  const arrivals = new WeakMap<FastifyRequest, { at: number; dropAfterCommit: boolean }>();
  let received = 0;

  // Without forceCloseConnections, close() would wait for hung requests.
  const app = Fastify({ logger: false, forceCloseConnections: true });
  // Every handler reads the raw body stream itself, whatever it is.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.addHook('onRequest', async (request, reply) => {
    received++;
    // Fastify answers 415 to a malformed Content-Type before any parser runs; the
    // simulator must take whatever a gateway forwards, so Fastify only sees a
    // neutral one (the echo reports the raw headers).
    if (request.headers['content-type'] !== undefined) request.raw.headers['content-type'] = 'application/octet-stream';
    const path = pathOf(request.url);
    if (CONTROL_PATHS.has(path)) return;
    const at = Date.now();
    const b = behavior.take(path);
    switch (b.mode) {
      case 'fail':
        if (b.retryAfterS !== undefined) reply.header('retry-after', String(b.retryAfterS));
        return reply.code(b.status ?? 503).send({ error: 'simulated' });
      case 'hang':
        // Take the body so the client is left waiting for an answer, not for a chance to send.
        request.raw.resume();
        return reply.hijack();
      case 'drop-before-commit':
        return drop(reply);
      case 'drop-after-commit':
        // Only Odoo calls commit anything; the rest have nothing to do before dropping.
        if (!(request.method === 'POST' && isOdooPath(path))) return drop(reply);
        break;
      case 'slow':
        await sleep(b.delayMs ?? 1000, undefined, { ref: false });
        // A client that gave up meanwhile must not take a place in the queue.
        if (reply.raw.destroyed) return reply.hijack();
        break;
    }
    arrivals.set(request, { at, dropAfterCommit: b.mode === 'drop-after-commit' });
    // Traefik answers /ping itself; it never waits for an Odoo worker.
    if (path === '/ping') return;
    const slot = gate.enter();
    reply.raw.once('close', slot.leave);
    await slot.served;
  });

  app.get('/ping', async () => 'OK');

  async function odoo(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const text = (await readAll(request.raw)).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return reply.code(400).send(rpcError(null, -32700, 'Parse error: the body is not JSON'));
    }
    const call = parseOdooCall(pathOf(request.url), body);
    if ('error' in call) return reply.code(400).send(rpcError(requestId(body), -32600, call.error));
    const arrival = arrivals.get(request)!;
    const result = isRead(call.method)
      ? readResult(call)
      : ledger.write({ call, key: header(request, 'idempotency-key'), device: header(request, 'x-device-id'), receivedAt: arrival.at, body });
    if (arrival.dropAfterCommit) return drop(reply);
    return rpcResult(call.id, result);
  }
  app.post('/jsonrpc', odoo);
  app.post('/web/dataset/call_kw', odoo);
  app.post('/web/dataset/call_kw/*', odoo);

  app.get('/_sim/blob', async (request, reply) => {
    const q = (request.query as Record<string, unknown>).bytes;
    const n = typeof q === 'string' && /^\d+$/.test(q) ? Number(q) : NaN;
    if (!Number.isSafeInteger(n)) return reply.code(400).send({ error: 'bytes=<whole number> expected' });
    return reply.header('content-type', 'application/octet-stream').header('content-length', String(n)).send(blob(n));
  });

  async function upload(request: FastifyRequest): Promise<{ bytes: number; sha256: string }> {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of request.raw as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      hash.update(chunk);
    }
    return { bytes, sha256: hash.digest('hex') };
  }
  app.post('/_sim/upload', upload);
  app.put('/_sim/upload', upload);

  async function echo(request: FastifyRequest): Promise<unknown> {
    let bodyBytes = 0;
    for await (const chunk of request.raw as AsyncIterable<Buffer>) bodyBytes += chunk.length;
    return { method: request.method, url: request.raw.url, headers: rawHeaders(request.raw.rawHeaders), bodyBytes };
  }
  app.all('/_sim/echo', echo);
  app.all('/_sim/echo/*', echo);

  app.post('/_sim/control', async (request, reply) => {
    const parsed = parseBehavior(await readJson(request.raw));
    if ('error' in parsed) return reply.code(400).send(parsed);
    behavior.set(parsed);
    return { behavior: parsed };
  });
  app.post('/_sim/capacity', async (request, reply) => {
    const parsed = parseCapacity(await readJson(request.raw));
    if ('error' in parsed) return reply.code(400).send(parsed);
    gate.limit = parsed.capacity;
    return parsed;
  });
  app.get('/_sim/state', async () => ({
    received,
    commits: ledger.count(),
    duplicates: ledger.duplicates(),
    behavior: behavior.current,
    capacity: gate.limit,
    load: gate.load(),
  }));
  app.get('/_sim/commits', async () => ledger.commits());
  app.post('/_sim/reset', async () => {
    sim.reset();
    return { reset: true };
  });

  app.setNotFoundHandler(async (request, reply) => {
    return reply.code(404).send({ error: 'not found', path: pathOf(request.url) });
  });

  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const { address, port } = app.server.address() as AddressInfo;

  const sim: ErpSimulator = {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    port,
    setBehavior(b) {
      const parsed = parseBehavior(b);
      if ('error' in parsed) throw new Error(`invalid simulator behaviour ${JSON.stringify(b)}: ${parsed.error}`);
      behavior.set(parsed);
    },
    setCapacity(c) {
      const parsed = parseCapacity(c);
      if ('error' in parsed) throw new Error(`invalid simulator capacity ${JSON.stringify(c)}: ${parsed.error}`);
      gate.limit = parsed.capacity;
    },
    commits: () => ledger.commits(),
    duplicates: () => ledger.duplicates(),
    received: () => received,
    reset() {
      behavior.set({ mode: 'ok' });
      gate.limit = null;
      gate.resetPeak();
      ledger.reset();
      received = 0;
    },
    close: () => app.close(),
  };
  return sim;
}
