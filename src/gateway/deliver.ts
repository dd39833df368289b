// One delivery attempt of a journaled request: through the best uplink for its
// class, with its idempotency key, the ERP's answer read whole (bounded) so it
// can be kept for the client's retries.
import type { ClassName } from '../../edge-config/schema.js';
import type { DeliveryAttempt } from '../../sync/replay.js';
import { parseRetryAfter } from '../../sync/retry-policy.js';
import { attemptThrough, type AttemptContext } from './attempt.js';
import { BodyTooLargeError, readBounded } from './body.js';
import { clientResponseHeaders } from '../http/headers.js';
import { jsonRpcErrorOf } from './jsonrpc.js';
import type { Kind } from './scheduler.js';

export interface Deliverable {
  cls: ClassName;
  idemKey: string;
  method: string;
  target: string;
  headers: Record<string, string | string[]>;
  body: Buffer | null;
}

export interface DeliverContext extends AttemptContext {
  /** A client's live try, or the replay engine (which waits behind live traffic). */
  kind: Kind;
  timeoutMs: number;
  maxResponseBytes: number;
}

/** An attempt, with the path it went through when one was tried. */
export type Delivered = DeliveryAttempt & { path?: string; shed?: true };

/**
 * `shed`: no slot on the path in time; nothing was sent, so it is no attempt
 * at all. The path is judged once the answer has been read whole: an answer
 * cut off counts against it.
 */
export async function deliver(entry: Deliverable, ctx: DeliverContext): Promise<Delivered> {
  // Replay has no client waiting: it queues as long as the deadline allows.
  const maxQueueMs = ctx.kind === 'replay' ? ctx.timeoutMs : ctx.classes[entry.cls].maxQueueMs;
  const attempt = await attemptThrough(
    {
      cls: entry.cls,
      kind: ctx.kind,
      method: entry.method,
      target: entry.target,
      headers: { ...entry.headers, 'idempotency-key': entry.idemKey },
      body: entry.body,
      timeoutMs: ctx.timeoutMs,
      maxQueueMs,
    },
    ctx,
  );
  if (!attempt) return { outcome: { kind: 'network', detail: `no uplink can carry ${entry.cls} traffic` } };
  const { path, result } = attempt;
  if (!result.ok) {
    attempt.judge();
    if (result.failure === 'overloaded') return { outcome: { kind: 'network', detail: result.detail }, path, shed: true };
    const kind = !result.maybeSent ? 'network' : result.failure === 'timeout' ? 'timeout' : 'lost';
    return { outcome: { kind, detail: result.detail }, path };
  }

  let body: Buffer;
  try {
    body = await readBounded(result.body, ctx.maxResponseBytes);
  } catch (e) {
    // The ERP answered; an answer too large to keep still counts as its answer.
    if (!(e instanceof BodyTooLargeError)) {
      attempt.judge(true);
      return { outcome: { kind: 'lost', detail: `answer cut off: ${(e as Error).message}` }, path };
    }
    result.body.destroy();
    body = Buffer.from(JSON.stringify({ note: 'answer larger than the gateway keeps' }));
  }
  attempt.judge();
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
    path,
  };
}

