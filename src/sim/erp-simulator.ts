// An Odoo-like ERP for tests, benchmarks and the demo. It commits writes in
// memory, deduplicates them by Idempotency-Key and by POS order uuid (as an
// ERP that honours keys does), and can be told to fail, hang, slow down, or
// drop the connection before or after committing.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isRead, parseOdooCall, posOrders, products, type OdooCall } from './odoo-rpc.js';

export type SimMode = 'ok' | 'fail' | 'hang' | 'slow' | 'drop-after-commit' | 'drop-before-commit';

export interface SimBehavior {
  mode: SimMode;
  /** For 'fail': the status to answer (default 503). */
  status?: number;
  /** For 'fail': a Retry-After to send. */
  retryAfterS?: number;
  /** For 'slow': the delay before answering (default 1000). */
  delayMs?: number;
  /** Apply to the next N matching requests only, then back to 'ok'. */
  count?: number;
  /** Apply only to requests whose path starts with this. */
  pathPrefix?: string;
}

export interface SimOrder {
  seq: number;
  key: string | null;
  uuid: string | null;
  model: string;
  method: string;
  device: string | null;
  receivedAt: number;
  body: unknown;
}

export interface ErpSimulator {
  url: string;
  port: number;
  setBehavior(b: SimBehavior): void;
  /** At most `concurrency` requests served at once, each taking serviceMs; the rest wait in FIFO order. */
  setCapacity(c: { concurrency: number; serviceMs: number } | null): void;
  commits(): SimOrder[];
  duplicates(): number;
  received(): number;
  reset(): void;
  close(): Promise<void>;
}

const MODES: readonly SimMode[] = ['ok', 'fail', 'hang', 'slow', 'drop-after-commit', 'drop-before-commit'];
const CONTROL = '/_sim/';

function validBehavior(v: unknown): SimBehavior | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const b = v as Record<string, unknown>;
  if (!MODES.includes(b.mode as SimMode)) return undefined;
  for (const k of ['status', 'retryAfterS', 'delayMs', 'count'] as const) if (b[k] !== undefined && (typeof b[k] !== 'number' || !Number.isFinite(b[k]) || (b[k] as number) < 0)) return undefined;
  if (b.pathPrefix !== undefined && typeof b.pathPrefix !== 'string') return undefined;
  return b as unknown as SimBehavior;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startErpSimulator(opts: { host?: string; port?: number } = {}): Promise<ErpSimulator> {
  let behavior: SimBehavior = { mode: 'ok' };
  let capacity: { concurrency: number; serviceMs: number } | null = null;
  let busy = 0;
  const waiting: (() => void)[] = [];
  let commits: SimOrder[] = [];
  let byKey = new Map<string, unknown>();
  let byUuid = new Map<string, unknown>();
  let duplicates = 0;
  let received = 0;
  const sockets = new Set<Socket>();

  /** The behaviour for this request, consuming one use of a counted behaviour. */
  function behaviorFor(path: string): SimBehavior {
    if (behavior.mode === 'ok' || (behavior.pathPrefix !== undefined && !path.startsWith(behavior.pathPrefix))) return { mode: 'ok' };
    const b = behavior;
    if (b.count !== undefined) {
      behavior = b.count <= 1 ? { mode: 'ok' } : { ...b, count: b.count - 1 };
    }
    return b;
  }

  async function withCapacity<T>(work: () => Promise<T>): Promise<T> {
    if (!capacity) return work();
    if (busy >= capacity.concurrency) await new Promise<void>((r) => waiting.push(r));
    busy++;
    try {
      await new Promise((r) => setTimeout(r, capacity?.serviceMs ?? 0));
      return await work();
    } finally {
      busy--;
      waiting.shift()?.();
    }
  }

  /** Commits a write once; a repeat (same key or same order uuid) gets the first answer again. */
  function commit(call: OdooCall, req: IncomingMessage, body: unknown): unknown {
    const keyHeader = req.headers['idempotency-key'];
    const key = typeof keyHeader === 'string' ? keyHeader : null;
    const orders = posOrders(call);
    const earlier = (key !== null && byKey.get(key)) || orders.map((o) => o.uuid !== null && byUuid.get(o.uuid)).find(Boolean);
    if (earlier) {
      duplicates++;
      return earlier;
    }
    const device = typeof req.headers['x-device-id'] === 'string' ? req.headers['x-device-id'] : null;
    const result = orders.map((o) => {
      const seq = commits.length + 1;
      commits.push({ seq, key, uuid: o.uuid, model: call.model, method: call.method, device, receivedAt: Date.now(), body });
      return call.model === 'pos.order' ? { id: seq, uuid: o.uuid } : true;
    });
    const answer = call.model === 'pos.order' ? result : result[0];
    if (key !== null) byKey.set(key, answer);
    for (const o of orders) if (o.uuid !== null) byUuid.set(o.uuid, answer);
    return answer;
  }

  async function odoo(req: IncomingMessage, res: ServerResponse, path: string, b: SimBehavior): Promise<void> {
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return json(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    }
    const call = parseOdooCall(path, body);
    if ('error' in call) return json(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32602, message: call.error } });

    if (b.mode === 'drop-before-commit') return void req.socket.destroy();
    if (isRead(call.method)) {
      const limit = typeof call.kwargs.limit === 'number' ? call.kwargs.limit : 80;
      const result = call.model === 'product.product' && call.method === 'search_read' ? products(limit) : [];
      return json(res, 200, { jsonrpc: '2.0', id: call.id, result });
    }
    const result = commit(call, req, body);
    if (b.mode === 'drop-after-commit') return void req.socket.destroy();
    json(res, 200, { jsonrpc: '2.0', id: call.id, result });
  }

  function blob(res: ServerResponse, bytes: number): void {
    const chunk = Buffer.alloc(64 * 1024, 'storegw-');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes) });
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  }

  async function upload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const c of req) {
      bytes += (c as Buffer).length;
      hash.update(c as Buffer);
    }
    json(res, 200, { bytes, sha256: hash.digest('hex') });
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const readJson = async () => {
      try {
        return JSON.parse((await readBody(req)).toString('utf8')) as unknown;
      } catch {
        return undefined;
      }
    };
    switch (`${req.method} ${path}`) {
      case 'POST /_sim/control': {
        const b = validBehavior(await readJson());
        if (!b) return json(res, 400, { error: `body must be {"mode": one of ${MODES.join('|')}, ...}` });
        behavior = b;
        return json(res, 200, { behavior });
      }
      case 'POST /_sim/capacity': {
        const c = (await readJson()) as { concurrency?: unknown; serviceMs?: unknown } | null | undefined;
        if (c === null) capacity = null;
        else if (c && typeof c.concurrency === 'number' && c.concurrency >= 1 && typeof c.serviceMs === 'number' && c.serviceMs >= 0)
          capacity = { concurrency: c.concurrency, serviceMs: c.serviceMs };
        else return json(res, 400, { error: 'body must be {"concurrency": >=1, "serviceMs": >=0} or null' });
        return json(res, 200, { capacity });
      }
      case 'GET /_sim/state':
        return json(res, 200, { received, commits: commits.length, duplicates, behavior, capacity });
      case 'GET /_sim/commits':
        return json(res, 200, commits);
      case 'POST /_sim/reset':
        sim.reset();
        return json(res, 200, { reset: true });
    }
    const url = new URL(req.url ?? '/', 'http://sim');
    if (req.method === 'GET' && path === '/_sim/blob') {
      const bytes = Number(url.searchParams.get('bytes') ?? 65536);
      if (!Number.isSafeInteger(bytes) || bytes < 0) return json(res, 400, { error: 'bytes must be a whole number' });
      return blob(res, bytes);
    }
    if ((req.method === 'POST' || req.method === 'PUT') && path === '/_sim/upload') return upload(req, res);
    if (path.startsWith('/_sim/echo')) {
      const raw = await readBody(req);
      return json(res, 200, { method: req.method, url: req.url, headers: req.headers, bodyBytes: raw.length });
    }
    json(res, 404, { error: 'unknown simulator endpoint' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    received++;
    const path = (req.url ?? '/').split('?')[0]!;
    // Blobs, uploads and echoes stand for the ERP's static and binary endpoints: behaviour applies to them too.
    const b = path.startsWith(CONTROL) && !/^\/_sim\/(blob|upload|echo)/.test(path) ? ({ mode: 'ok' } as SimBehavior) : behaviorFor(path);
    if (b.mode === 'hang') return;
    if (b.mode === 'fail') {
      req.resume();
      return json(res, b.status ?? 503, { error: 'simulated' }, b.retryAfterS !== undefined ? { 'retry-after': String(b.retryAfterS) } : {});
    }
    if (b.mode === 'slow') await new Promise((r) => setTimeout(r, b.delayMs ?? 1000));
    if (path.startsWith(CONTROL)) return control(req, res, path);
    if (path === '/ping' || path === '/ping/') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      return void res.end('OK');
    }
    if (req.method === 'POST' && (path === '/jsonrpc' || path.startsWith('/web/dataset/call_kw'))) return withCapacity(() => odoo(req, res, path, b));
    if (b.mode.startsWith('drop')) return void req.socket.destroy();
    req.resume();
    json(res, 404, { error: 'not found', path });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) json(res, 500, { error: e.message });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;

  const sim: ErpSimulator = {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    port,
    setBehavior(b) {
      const valid = validBehavior(b);
      if (!valid) throw new Error(`invalid simulator behaviour: ${JSON.stringify(b)}`);
      behavior = valid;
    },
    setCapacity(c) {
      capacity = c;
    },
    commits: () => [...commits],
    duplicates: () => duplicates,
    received: () => received,
    reset() {
      behavior = { mode: 'ok' };
      capacity = null;
      commits = [];
      byKey = new Map();
      byUuid = new Map();
      duplicates = 0;
      received = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return sim;
}
