// `cache` routes: the ERP is always asked first, within the route's deadline,
// and its keepable answers to GETs and to JSON-RPC reads (search_read...) are kept. When no path can carry a read, or
// the ERP cannot be reached, does not answer in time or answers with a server
// error, the kept answer is served instead, marked stale with its Age
// (RFC 5861 stale-if-error). Without one the client gets what a passthrough
// route gives. Every answer says what the cache did in X-Gateway-Cache.
import { pipeline, Transform, type Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { RouteConfig } from '../../edge-config/schema.js';
import { ageSeconds, keptHeaders, STALE_ON_STATUS, storability, type ReadRequest } from '../cache/policy.js';
import type { ReadCache } from '../cache/read-cache.js';
import { clientResponseHeaders } from '../http/headers.js';
import { jsonRpcErrorOf, withRequestId } from './jsonrpc.js';
import type { LiveAttempt, LiveFailure } from './live.js';
import type { GatewayMetrics, Outcome } from './metrics.js';

/** stale: answered from the cache. miss: not in it; a live answer it may keep. bypass: not for it. */
export type CacheResult = 'stale' | 'miss' | 'bypass';

export interface CachedRequest {
  route: RouteConfig;
  reply: FastifyReply;
  done(outcome: Outcome): void;
  read: ReadRequest;
  /** Tries the ERP through the best path within `timeoutMs`. */
  live(timeoutMs: number): Promise<LiveAttempt>;
  /** Answers a live failure as a passthrough route does. */
  failed(attempt: LiveFailure): unknown;
}

/** Time kept back from the live try to answer from the cache before the route's deadline passes. */
function reserveMs(timeoutMs: number): number {
  return Math.min(100, Math.floor(timeoutMs / 20));
}

export async function handleCached(cache: ReadCache, metrics: GatewayMetrics, req: CachedRequest) {
  const { route, reply, done, read } = req;
  // Set after the upstream's headers: only the gateway may say what its cache did.
  const said = (result: CacheResult) => {
    metrics.cacheAnswers.inc({ route: route.name, result });
    reply.header('x-gateway-cache', result);
  };
  const forwarded = (attempt: Extract<LiveAttempt, { ok: true }>, body: Readable, result: CacheResult) => {
    done('forwarded');
    reply.header('x-gateway-path', attempt.path).code(attempt.statusCode).headers(clientResponseHeaders(attempt.headers));
    said(result);
    return reply.send(body);
  };
  const failed = (attempt: LiveFailure, result: CacheResult) => {
    said(result);
    return req.failed(attempt);
  };

  if (read.method !== 'GET' && read.method !== 'HEAD' && !read.rpc) {
    const attempt = await req.live(route.timeoutMs);
    return attempt.ok ? forwarded(attempt, attempt.body, 'bypass') : failed(attempt, 'bypass');
  }

  const attempt = await req.live(route.timeoutMs - reserveMs(route.timeoutMs));
  if (attempt.ok && !STALE_ON_STATUS.has(attempt.statusCode)) {
    const keep = storability(read, attempt.statusCode, attempt.headers);
    const declared = Number(attempt.headers['content-length'] ?? 0);
    if (!keep.store || declared > cache.maxEntryBytes) return forwarded(attempt, attempt.body, 'bypass');
    const headers = keptHeaders(attempt.headers);
    const body = keepWhole(attempt.body, cache.maxEntryBytes, (whole) => {
      // Odoo answers a failed call with HTTP 200 and an error object: not an answer to keep.
      if (read.rpc && jsonRpcErrorOf(whole, attempt.headers['content-type']) !== undefined) return;
      cache.store(read, keep, { status: attempt.statusCode, headers, body: whole }, Date.now());
    });
    return forwarded(attempt, body, 'miss');
  }

  const stored = cache.lookup(read, Date.now());
  if (!stored) return attempt.ok ? forwarded(attempt, attempt.body, 'miss') : failed(attempt, 'miss');
  if (attempt.ok) discard(attempt.body);
  done('stale');
  reply.code(stored.status).headers(stored.headers).header('age', String(ageSeconds(stored.headers, stored.storedAt, Date.now())));
  said('stale');
  // A HEAD gets the GET's headers; Node leaves the body out.
  return reply.send(read.rpc ? withRequestId(stored.body, read.rpc.id) : stored.body);
}

/** Reads an unwanted body to its end, so the connection can serve again; a failure of it concerns no one. */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.resume();
}

/**
 * Streams the body on to the client as it comes, and hands it to `kept` once
 * it has ended whole within `limit` bytes. A body cut off (the ERP or the
 * client gone) is never kept.
 */
function keepWhole(body: Readable, limit: number, kept: (whole: Buffer) => void): Readable {
  const chunks: Buffer[] = [];
  let total = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, next) {
      total += chunk.length;
      if (total <= limit) chunks.push(chunk);
      else chunks.length = 0;
      next(null, chunk);
    },
    flush(next) {
      next();
      if (total <= limit) kept(Buffer.concat(chunks, total));
    },
  });
  // Errors reach the client through `tap`; a client gone destroys `body` through it.
  pipeline(body, tap, () => {});
  return tap;
}
