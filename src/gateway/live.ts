// A live try: a client's request sent through the best path that can carry
// its route's class, with what it said of the path reported to the link
// monitor. Passthrough and cache routes both go through it.
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { RouteConfig } from '../../edge-config/schema.js';
import { attemptThrough } from './attempt.js';
import type { ForwardResult } from './forward.js';
import type { RequestPathDeps } from './path-deps.js';
import type { GatewayRuntime } from './runtime.js';

export interface ForwardCall {
  method: string;
  target: string;
  headers: Record<string, string | string[]>;
  body: Readable | Buffer | null;
}

/** A live try: the ERP's answer through `path`, or why there is none (`path`: the one tried, if any). */
export type LiveAttempt = (Extract<ForwardResult, { ok: true }> & { path: string }) | LiveFailure;
export type LiveFailure = { ok: false; failure: 'no_path' | 'client_gone' | Extract<ForwardResult, { ok: false }>['failure']; detail: string; path?: string };

/** Sends the call through the best path that can carry the route's class; the path is judged on the answer's headers. */
export async function tryLive(deps: Pick<RequestPathDeps, 'pathViews' | 'pathOutcome' | 'logger'>, rt: GatewayRuntime, route: RouteConfig, reply: FastifyReply, call: ForwardCall, timeoutMs: number): Promise<LiveAttempt> {
  const { classes } = rt.loaded.config;
  // A client whose request breaks off (a malformed chunked body, a till that
  // hung up) makes the upstream request fail too: that says nothing of the path.
  // Only while its body is streamed upstream: one read whole already (a
  // JSON-RPC call), or none, cannot break the upstream request.
  const clientBroke = call.body instanceof Readable ? clientGone(reply.request.raw) : () => false;
  const attempt = await attemptThrough(
    { ...call, cls: route.class, kind: 'live', timeoutMs, maxQueueMs: classes[route.class].maxQueueMs },
    { upstreams: rt.upstreams, pathViews: deps.pathViews(), classes, pathOutcome: deps.pathOutcome },
  );
  if (!attempt) {
    clientBroke();
    return { ok: false, failure: 'no_path', detail: `no uplink can carry ${route.class} traffic now` };
  }
  const { path, result } = attempt;
  if (!result.ok && clientBroke()) return { ok: false, failure: 'client_gone', detail: 'the client broke off its request', path };
  attempt.judge();
  if (!result.ok) deps.logger.warn({ requestId: reply.request.id, route: route.name, path, failure: result.failure, detail: result.detail }, 'upstream request failed');
  return { ...result, path };
}

/** Whether the client's request stream has failed since this was called. */
function clientGone(raw: Readable): () => boolean {
  let gone = false;
  const mark = () => (gone = true);
  raw.once('error', mark);
  raw.once('aborted', mark);
  return () => {
    raw.off('error', mark);
    raw.off('aborted', mark);
    return gone;
  };
}
