// Sends one request upstream through a path's pool and hands back the
// response to stream to the client. Bodies are streamed both ways.
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { errors, type Dispatcher } from 'undici';
import { BodyTooLargeError } from './body.js';
import type { ClassName } from '../../edge-config/schema.js';
import type { Kind } from './scheduler.js';
import { poolFor, type Upstream } from './upstreams.js';

export interface ForwardRequest {
  method: string;
  /** Raw path and query as the client sent them (already checked). */
  target: string;
  headers: Record<string, string | string[]>;
  body: Readable | Buffer | null;
  /** Deadline for the response headers (a wait for a slot included), and the longest idle gap in the body. */
  timeoutMs: number;
  /** Where the request queues when the path's slots are taken: its class's lane, live or replay. */
  cls: ClassName;
  kind: Kind;
  /** How long it may wait for a slot on the path. */
  maxQueueMs: number;
}

export type ForwardResult =
  | { ok: true; statusCode: number; headers: Record<string, string | string[] | undefined>; body: Readable }
  | {
      ok: false;
      failure: 'timeout' | 'unreachable' | 'body_too_large' | 'overloaded';
      detail: string;
      /**
       * Whether the request may have reached the ERP: false only when no
       * connection was ever made for it. An ERP that does not dedupe must not
       * get a write again after an attempt that may have reached it.
       */
      maybeSent: boolean;
    };

/**
 * Whether an error came before a connection existed (the request cannot have
 * been sent): the connect call failed, or undici gave up connecting. The same
 * codes (EHOSTUNREACH…) on an open socket come after the request may have gone.
 */
function beforeConnection(e: { code?: string; syscall?: string }): boolean {
  return e.syscall === 'connect' || e.syscall === 'getaddrinfo' || e.code === 'UND_ERR_CONNECT_TIMEOUT';
}

function classify(err: unknown): ForwardResult {
  const e = err as { code?: string; syscall?: string; name?: string; message?: string; cause?: { code?: string; syscall?: string } };
  if (err instanceof BodyTooLargeError || e.cause instanceof BodyTooLargeError)
    return { ok: false, failure: 'body_too_large', detail: e.message ?? 'body too large', maybeSent: false };
  // A connection that cannot be made in time says the path is unreachable, not that the ERP is slow.
  const timeout = err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError;
  const code = e.code ?? e.cause?.code;
  return { ok: false, failure: timeout ? 'timeout' : 'unreachable', detail: code ?? e.message ?? String(err), maybeSent: !beforeConnection(e) && !(e.cause !== undefined && beforeConnection(e.cause)) };
}

export async function forward(upstream: Upstream, req: ForwardRequest): Promise<ForwardResult> {
  const { cls } = req;
  const slot = await upstream.slots.acquire(cls, req.kind, Math.min(req.maxQueueMs, req.timeoutMs));
  if (!slot.ok) return { ok: false, failure: 'overloaded', detail: `no slot on ${upstream.name} within ${Math.round(slot.waitedMs)} ms`, maybeSent: false };
  // One deadline from the request to the response headers, covering the wait
  // for a slot, connect and the upload too: a client is never kept waiting past
  // its route's timeout. The timer is cleared once headers arrive, so a long
  // download is bounded by the idle bodyTimeout instead.
  const left = Math.max(1, req.timeoutMs - slot.waitedMs);
  const pool = poolFor(upstream, cls);
  // undici takes an EventEmitter as the signal: cheaper to make than an
  // AbortController with its EventTarget, and this is on every request.
  const deadline = new EventEmitter();
  let expired = false;
  let connectedAtDeadline = 0;
  // undici leaves an aborted request pending while its connection is still
  // being made (up to connect.timeout, on a path that silently lost its link):
  // the deadline is kept here, not by undici. The timer rejects the one
  // promise awaited below itself (no race of two promises, no abort listener: this is on every request).
  let expire: (e: Error) => void = () => undefined;
  const timer = setTimeout(() => {
    // Read before the abort, which tears this request's own connection down.
    connectedAtDeadline = pool.stats.connected;
    expired = true;
    deadline.emit('abort');
    expire(new Error('deadline'));
  }, left);
  let released = false;
  const pending = pool.request({
    method: req.method,
    path: upstream.basePath + req.target,
    headers: req.headers,
    body: req.body,
    signal: deadline,
    // The deadline above governs; undici's own headers timer is coarse and only a backstop.
    headersTimeout: left + 1000,
    bodyTimeout: req.timeoutMs,
  });
  try {
    const res = await new Promise<Dispatcher.ResponseData>((resolve, reject) => {
      expire = reject;
      pending.then(resolve, reject);
    });
    // The slot is held until the answer has been read (or abandoned), not just its headers.
    res.body.once('close', slot.release);
    released = true;
    return { ok: true, statusCode: res.statusCode, headers: res.headers, body: res.body };
  } catch (err) {
    if (expired) {
      // The slot stays taken until undici lets go of the request (an answer arriving now is thrown away).
      released = true;
      pending.then((res) => res.body.destroy(), () => undefined).finally(slot.release);
      // No connection open on the path when the deadline came: this request
      // was still waiting for one (a silently dead link), so it was never written.
      return { ok: false, failure: 'timeout', detail: `no response within ${req.timeoutMs} ms`, maybeSent: connectedAtDeadline > 0 };
    }
    return classify(err);
  } finally {
    clearTimeout(timer);
    if (!released) slot.release();
  }
}
