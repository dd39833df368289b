// A live try: a client's request sent through the best path that can carry
// its route's class, with what it said of the path reported to the link
// monitor. Passthrough and cache routes both go through it.
import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { RouteConfig } from '../../edge-config/schema.js';
import { forward, type ForwardResult } from './forward.js';
import type { RequestPathDeps } from './path-deps.js';
import { pathVerdict } from './path-verdict.js';
import type { GatewayRuntime } from './runtime.js';
import { pickUpstream } from './upstreams.js';

export interface ForwardCall {
  method: string;
  target: string;
  headers: Record<string, string | string[]>;
  body: Readable | Buffer | null;
}

/** A live try: the ERP's answer through `path`, or why there is none (`path`: the one tried, if any). */
export type LiveAttempt = (Extract<ForwardResult, { ok: true }> & { path: string }) | LiveFailure;
export type LiveFailure = { ok: false; failure: 'no_path' | 'client_gone' | Extract<ForwardResult, { ok: false }>['failure']; detail: string; path?: string };

/** Sends the call through the best path that can carry the route's class, and tells the link monitor how the path did. */
export async function tryLive(deps: Pick<RequestPathDeps, 'pathViews' | 'pathOutcome'>, rt: GatewayRuntime, route: RouteConfig, reply: FastifyReply, call: ForwardCall, timeoutMs: number): Promise<LiveAttempt> {
  const { classes } = rt.loaded.config;
  const upstream = pickUpstream(route.class, deps.pathViews(), rt.upstreams, classes);
  if (!upstream) return { ok: false, failure: 'no_path', detail: `no uplink can carry ${route.class} traffic now` };
  // A client whose request breaks off (a malformed chunked body, a till that
  // hung up) makes the upstream request fail too: that says nothing of the path.
  const clientBroke = clientGone(reply.request.raw);
  const result = await forward(upstream, { ...call, timeoutMs, lane: { cls: route.class, kind: 'live', maxQueueMs: classes[route.class].maxQueueMs } });
  if (!result.ok && clientBroke()) return { ok: false, failure: 'client_gone', detail: 'the client broke off its request', path: upstream.name };
  const verdict = pathVerdict(result);
  if (verdict !== undefined) deps.pathOutcome(upstream.name, verdict);
  if (!result.ok) reply.request.log.warn({ requestId: reply.request.id, route: route.name, path: upstream.name, failure: result.failure, detail: result.detail }, 'upstream request failed');
  return { ...result, path: upstream.name };
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
