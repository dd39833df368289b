// An Odoo-like ERP for tests, benchmarks and the demo, answering as a chosen
// Odoo release (16, 17, 18 or 19): POS order pushes deduplicated the way that
// release does it (by pos_reference or uuid, never by Idempotency-Key unless
// asked to play an ERP behind something that honours keys), stock_barcode
// saves that duplicate on replay, picking validation, /pos/ping, and the
// /websocket bus. It also serves bulk bytes both ways, echoes what it was
// sent, and can be told to fail, hang, slow down, drop the connection before
// or after committing, or serve with bounded capacity.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { BehaviorState, parseBehavior, type SimBehavior } from './behavior.js';
import { Bus, type BusNotification } from './bus.js';
import { CapacityGate, parseCapacity } from './capacity.js';
import { KeyMemory } from './key-memory.js';
import { Ledger, type Outcome, type SimOrder } from './ledger.js';
import { OdooModel } from './odoo-model.js';
import { isObject, isOdooPath, isRead, notFound, parseOdooCall, requestId, rpcError, rpcFailure, rpcResult } from './odoo-rpc.js';
import { DEFAULT_PROFILE, hasPosPing, isProfile, type OdooProfile } from './profile.js';

export type { SimBehavior, SimMode } from './behavior.js';
export type { BusNotification } from './bus.js';
export type { SimOrder } from './ledger.js';
export type { OdooProfile } from './profile.js';

export interface ErpSimulatorOptions {
  host?: string;
  port?: number;
  /** The Odoo release to answer as; default 'odoo-18'. */
  profile?: OdooProfile;
  /**
   * Answer a write whose Idempotency-Key was already answered from memory,
   * without running it again, as an ERP behind a key-honouring proxy would.
   * Default false: Odoo ignores the header.
   */
  honourIdempotencyKey?: boolean;
}

export interface ErpSimulator {
  /** e.g. http://127.0.0.1:34567 */
  url: string;
  port: number;
  profile: OdooProfile;
  honourIdempotencyKey: boolean;
  /** Throws on an invalid behaviour. */
  setBehavior(b: SimBehavior): void;
  /** At most `concurrency` requests served at once, each taking serviceMs; the rest wait in arrival order. null: unbounded. */
  setCapacity(c: { concurrency: number; serviceMs: number } | null): void;
  /** Every committed record, in commit order. */
  commits(): SimOrder[];
  /** Write requests that carried something the ERP already had (an order found by its natural key), or, with honourIdempotencyKey, a key already answered. */
  duplicates(): number;
  /** Requests seen on any path, control endpoints and websocket upgrades included. */
  received(): number;
  /** Pushes a bus notification to every open /websocket subscribed to `channel`. */
  notify(channel: string, type: string, payload: unknown): BusNotification;
  /** Open /websocket connections. */
  busConnections(): number;
  /** Clears commits, counters, behaviour, capacity, the ERP's records, remembered keys and past bus notifications; open bus sockets stay. */
  reset(): void;
  /** Closes the server and destroys open sockets: hung requests', and the bus's. */
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

/** Paths whose handler runs the call before a drop-after-commit drops the connection; every other path has nothing to commit and drops at once. */
function commitsBeforeDrop(method: string, path: string): boolean {
  return method === 'POST' && (isOdooPath(path) || path.startsWith('/stock_barcode/'));
}

/** Refuses a websocket upgrade with a bare HTTP answer. */
function refuseUpgrade(socket: Duplex, status: number, reason: string, headers: string[] = []): void {
  socket.end([`HTTP/1.1 ${status} ${reason}`, ...headers, 'Content-Length: 0', 'Connection: close', '', ''].join('\r\n'));
}

/** Ends the exchange without an answer: the client sees the connection reset or closed. */
function drop(reply: FastifyReply): FastifyReply {
  reply.hijack();
  reply.raw.destroy();
  return reply;
}

export async function startErpSimulator(opts: ErpSimulatorOptions = {}): Promise<ErpSimulator> {
  const profile = opts.profile ?? DEFAULT_PROFILE;
  if (!isProfile(profile)) throw new Error(`unknown simulator profile ${JSON.stringify(profile)}`);
  const honourIdempotencyKey = opts.honourIdempotencyKey ?? false;
  const behavior = new BehaviorState();
  const gate = new CapacityGate();
  const ledger = new Ledger();
  const erp = new OdooModel(profile);
  const keys = new KeyMemory();
  const bus = new Bus();
  const hungUpgrades = new Set<Duplex>();
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
        if (!commitsBeforeDrop(request.method, path)) return drop(reply);
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

  /**
   * Runs one write or read and answers it as JSON-RPC: commits are recorded,
   * a repeated Idempotency-Key is answered from memory when the simulator
   * honours keys, and drop-after-commit drops the connection after the work.
   */
  function serve(request: FastifyRequest, reply: FastifyReply, body: unknown, id: unknown, write: boolean, run: () => Outcome): unknown {
    const arrival = arrivals.get(request)!;
    const key = write && honourIdempotencyKey ? header(request, 'idempotency-key') : null;
    let answer: unknown;
    if (key !== null && keys.has(key)) {
      ledger.countDuplicate();
      answer = rpcResult(id, keys.recall(key));
    } else {
      const outcome = run();
      if (outcome.ok) {
        ledger.record({ key: header(request, 'idempotency-key'), device: header(request, 'x-device-id'), receivedAt: arrival.at, body }, outcome.commits);
        if (outcome.repeated) ledger.countDuplicate();
        if (key !== null) keys.remember(key, outcome.result);
        answer = rpcResult(id, outcome.result);
      } else {
        answer = rpcFailure(id, outcome.error);
      }
    }
    return arrival.dropAfterCommit ? drop(reply) : answer;
  }

  /** The body as JSON, or a 400 JSON-RPC parse error already sent. */
  async function jsonBody(request: FastifyRequest, reply: FastifyReply): Promise<{ body: unknown } | undefined> {
    const text = (await readAll(request.raw)).toString('utf8');
    try {
      return { body: JSON.parse(text) as unknown };
    } catch {
      reply.code(400).send(rpcError(null, -32700, 'Parse error: the body is not JSON'));
      return undefined;
    }
  }

  async function odoo(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const parsed = await jsonBody(request, reply);
    if (parsed === undefined) return reply;
    const call = parseOdooCall(pathOf(request.url), parsed.body);
    if ('error' in call) return reply.code(400).send(rpcError(requestId(parsed.body), -32600, call.error));
    return serve(request, reply, parsed.body, call.id, !isRead(call.method), () => erp.call(call));
  }
  app.post('/jsonrpc', odoo);
  app.post('/web/dataset/call_kw', odoo);
  app.post('/web/dataset/call_kw/*', odoo);

  function barcodeRoute(write: boolean, run: (params: Record<string, unknown>) => Outcome) {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const parsed = await jsonBody(request, reply);
      if (parsed === undefined) return reply;
      const { body } = parsed;
      if (!isObject(body) || !isObject(body.params)) return reply.code(400).send(rpcError(requestId(body), -32600, 'a JSON-RPC object with a params object expected'));
      const params = body.params;
      return serve(request, reply, body, body.id ?? null, write, () => run(params));
    };
  }
  app.post('/stock_barcode/get_barcode_data', barcodeRoute(false, (p) => erp.barcode.getBarcodeData(p)));
  app.post('/stock_barcode/save_barcode_data', barcodeRoute(true, (p) => erp.barcode.saveBarcodeData(p)));

  // 19's POS polls this every 2 s while offline; before 19 there is no such route, and a JSON request to an unknown path gets Odoo's 404 JSON-RPC error.
  app.post('/pos/ping', async (request) => {
    const body = await readJson(request.raw);
    return hasPosPing(profile) ? rpcResult(requestId(body), { response: 'pong' }) : rpcFailure(requestId(body), notFound());
  });

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
    profile,
    honourIdempotencyKey,
    received,
    commits: ledger.count(),
    duplicates: ledger.duplicates(),
    behavior: behavior.current,
    capacity: gate.limit,
    load: gate.load(),
    busConnections: bus.connections(),
  }));
  app.get('/_sim/commits', async () => ledger.commits());
  app.post('/_sim/reset', async () => {
    sim.reset();
    return { reset: true };
  });

  app.setNotFoundHandler(async (request, reply) => {
    return reply.code(404).send({ error: 'not found', path: pathOf(request.url) });
  });

  // Upgrades bypass Fastify: the same count and behaviours apply here, but not the capacity gate (Odoo serves websockets outside its HTTP workers).
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    received++;
    socket.on('error', () => socket.destroy());
    const path = pathOf(req.url ?? '/');
    if (path !== '/websocket') return refuseUpgrade(socket, 404, 'Not Found');
    const b = behavior.take(path);
    switch (b.mode) {
      case 'fail':
        return refuseUpgrade(socket, b.status ?? 503, 'Simulated', b.retryAfterS === undefined ? [] : [`Retry-After: ${b.retryAfterS}`]);
      case 'hang':
        hungUpgrades.add(socket);
        socket.once('close', () => hungUpgrades.delete(socket));
        return;
      case 'drop-before-commit':
      case 'drop-after-commit':
        return void socket.destroy();
      case 'slow':
        return void sleep(b.delayMs ?? 1000, undefined, { ref: false }).then(() => {
          if (!socket.destroyed) bus.accept(req, socket, head);
        });
      default:
        return bus.accept(req, socket, head);
    }
  });

  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const { address, port } = app.server.address() as AddressInfo;

  const sim: ErpSimulator = {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    port,
    profile,
    honourIdempotencyKey,
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
    notify: (channel, type, payload) => bus.notify(channel, type, payload),
    busConnections: () => bus.connections(),
    reset() {
      behavior.set({ mode: 'ok' });
      gate.limit = null;
      gate.resetPeak();
      ledger.reset();
      erp.reset();
      keys.reset();
      bus.reset();
      received = 0;
    },
    async close() {
      // Upgraded sockets are outside Fastify's reach: without this, close() would wait for them.
      bus.close();
      for (const socket of hungUpgrades) socket.destroy();
      await app.close();
    },
  };
  return sim;
}
