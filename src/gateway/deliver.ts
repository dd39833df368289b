// One delivery attempt of a journaled request: through the best uplink for its
// class, with its idempotency key, the ERP's answer read whole (bounded) so it
// can be kept for the client's retries.
import type { ClassName, ClassSettingsConfig } from '../../edge-config/schema.js';
import type { DeliveryAttempt } from '../../sync/replay.js';
import { parseRetryAfter } from '../../sync/retry-policy.js';
import { BodyTooLargeError, readBounded } from './body.js';
import { forward } from './forward.js';
import { clientResponseHeaders } from '../http/headers.js';
import { jsonRpcErrorOf } from './jsonrpc.js';
import type { PathView } from '../link/path-view.js';
import type { Kind } from './scheduler.js';
import { pathVerdict } from './path-verdict.js';
import { pickUpstream, type Upstream } from './upstreams.js';

export interface Deliverable {
  cls: ClassName;
  idemKey: string;
  method: string;
  target: string;
  headers: Record<string, string | string[]>;
  body: Buffer | null;
}

export interface DeliverContext {
  upstreams: ReadonlyMap<string, Upstream>;
  pathViews: readonly PathView[];
  classes: Record<ClassName, ClassSettingsConfig>;
  /** A client's live try, or the replay engine (which waits behind live traffic). */
  kind: Kind;
  timeoutMs: number;
  maxResponseBytes: number;
}

/** An attempt through `path`, with what it says of the path (pathVerdict), when one was tried. */
export type Delivered = DeliveryAttempt & { path?: string; verdict?: boolean; shed?: true };

/** `shed`: no slot on the path in time; nothing was sent, so it is no attempt at all. */
export async function deliver(entry: Deliverable, ctx: DeliverContext): Promise<Delivered> {
  const upstream = pickUpstream(entry.cls, ctx.pathViews, ctx.upstreams, ctx.classes);
  if (!upstream) return { outcome: { kind: 'network', detail: `no uplink can carry ${entry.cls} traffic` } };

  // Replay has no client waiting: it queues as long as the deadline allows.
  const maxQueueMs = ctx.kind === 'replay' ? ctx.timeoutMs : ctx.classes[entry.cls].maxQueueMs;
  const result = await forward(upstream, {
    method: entry.method,
    target: entry.target,
    headers: { ...entry.headers, 'idempotency-key': entry.idemKey },
    body: entry.body,
    timeoutMs: ctx.timeoutMs,
    lane: { cls: entry.cls, kind: ctx.kind, maxQueueMs },
  });
  const judged = (answerCutOff = false) => {
    const verdict = pathVerdict(result, answerCutOff);
    return { path: upstream.name, ...(verdict !== undefined && { verdict }) };
  };
  if (!result.ok && result.failure === 'overloaded') return { outcome: { kind: 'network', detail: result.detail }, ...judged(), shed: true };
  if (!result.ok) {
    const kind = !result.maybeSent ? 'network' : result.failure === 'timeout' ? 'timeout' : 'lost';
    return { outcome: { kind, detail: result.detail }, ...judged() };
  }

  let body: Buffer;
  try {
    body = await readBounded(result.body, ctx.maxResponseBytes);
  } catch (e) {
    // The ERP answered; an answer too large to keep still counts as its answer.
    if (!(e instanceof BodyTooLargeError)) return { outcome: { kind: 'lost', detail: `answer cut off: ${(e as Error).message}` }, ...judged(true) };
    result.body.destroy();
    body = Buffer.from(JSON.stringify({ note: 'answer larger than the gateway keeps' }));
  }
  const headers = clientResponseHeaders(result.headers);
  delete headers['content-length'];
  return {
    outcome: {
      kind: 'response',
      status: result.statusCode,
      retryAfterMs: parseRetryAfter(result.headers['retry-after'], Date.now()),
      jsonRpcError: jsonRpcErrorOf(body, result.headers['content-type']),
    },
    response: { status: result.statusCode, headers, body },
    ...judged(),
  };
}

