// `buffer` routes: the request is journaled durably first — each item of a
// batch (every order of a POS push) as its own entry under its own key — then
// tried live within the route's deadline. The client gets the ERP's answer
// when the live try settles everything it sent, else the route's held answer
// (held-answer.ts), and the replay engine delivers the rest.
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { RouteConfig } from '../../edge-config/schema.js';
import { orderingKey, requestKeys, type RequestKeys } from '../../sync/idempotency.js';
import { newEntryId } from '../../sync/entry-ids.js';
import type { Journal } from '../../sync/journal.js';
import type { AppendResult, EntryView, StoredResponse } from '../../sync/journal-store.js';
import { settle, UnrecordedError, type ReplayEngine, type ReplaySettings, type RoutePolicy } from '../../sync/replay.js';
import { decide, type Decision } from '../../sync/retry-policy.js';
import { deliver } from './deliver.js';
import { answerFor, type Answer } from './held-answer.js';
import { requestIdOf } from './jsonrpc.js';
import type { ErpBreaker } from './erp-breaker.js';
import { sendError } from './replies.js';
import type { Outcome } from './metrics.js';
import type { PathView } from '../link/path-view.js';
import type { GatewayRuntime } from './runtime.js';

export interface Buffering {
  journal: Journal;
  replay: ReplayEngine;
  settings(): ReplaySettings;
  pathViews(): readonly PathView[];
  /** Reports whether a path itself carried a request (for the link monitor). */
  pathOutcome(path: string, reached: boolean): void;
  /** Whether the ERP was just seen failing (live tries pause). */
  breaker: ErpBreaker;
  /** Every attempt's decision, live or replay: metrics, the breaker, the fleet's events. */
  settled(entry: EntryView, decision: Decision): void;
  logger: Logger;
}

export interface BufferedRequest {
  rt: GatewayRuntime;
  route: RouteConfig;
  reply: FastifyReply;
  done(outcome: Outcome): void;
  /** Device id, or the client address when devices carry no token. */
  device: string;
  /** The parsed JSON body when the gateway already read one. */
  json: unknown;
  call: { method: string; target: string; headers: Record<string, string | string[]>; body: Buffer };
}

/** The body as JSON whatever its Content-Type says (a key read from it must not depend on a header), or undefined. */
function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** What a route's entries need of their ERP. A route gone from the configuration is taken at its most careful. */
export function routePolicy(route: Pick<RouteConfig, 'dedupe' | 'check'> | undefined): RoutePolicy {
  return { dedupe: route?.dedupe ?? 'none', check: route?.check };
}

function send(reply: FastifyReply, answer: Answer, receipts: readonly string[]) {
  if (answer.deadLetter !== undefined) {
    reply.headers(answer.headers);
    return sendError(reply, 409, 'dead_letter', `this request was given up (${answer.deadLetter}); ask the store's IT to retry it`);
  }
  reply.code(answer.status).headers(answer.headers);
  if (receipts.length > 0) reply.header('x-gateway-receipt', receipts.join(', '));
  return reply.send(answer.body);
}

/** Journaled: the item's entry as it stands, with the ERP's kept answer once there is one. */
interface Held {
  entry: EntryView;
  response: StoredResponse | undefined;
  /** New in the journal now (not a re-send of an earlier entry). */
  stored: boolean;
  queuedBehind: boolean;
  /** What goes upstream for this item. */
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/**
 * The body as JSON, parsed on first use: a route whose key is generated or
 * read from a header, answered with a receipt, never needs it (the parse of
 * every order's body was 2 % of the main thread's busy time on such a route).
 */
function lazyJson(req: BufferedRequest): () => unknown {
  let parsed = req.json !== undefined;
  let json = req.json;
  return () => {
    if (!parsed) {
      parsed = true;
      json = parseJsonBody(req.call.body);
    }
    return json;
  };
}

export async function handleBuffered(b: Buffering, req: BufferedRequest) {
  const { route, reply, done, call } = req;
  const json = lazyJson(req);
  const keys = requestKeys(route, {
    headers: reply.request.headers,
    get json() {
      return json();
    },
  });
  if (!keys.ok) {
    done('bad_request');
    return sendError(reply, 400, 'missing_key', `${keys.reason}; nothing was stored or forwarded`);
  }
  // A batch's items go alone, each in the request's envelope: content-length is undici's to set.
  const { 'content-length': _length, ...itemHeaders } = call.headers;
  const parts: Part[] = keys.items.map((item) =>
    item.json === undefined ? { key: item.key, headers: call.headers, body: call.body } : { key: item.key, headers: itemHeaders, body: Buffer.from(JSON.stringify(item.json)) },
  );
  // Leased before they exist: the replay engine must never pick a new entry this request is about to try live.
  const receipts = parts.map(() => newEntryId());
  const release = b.replay.leaseForLive(receipts);
  try {
    return await journalAndAnswer(b, req, keys, parts, receipts, json);
  } finally {
    release();
  }
}

type Part = { key: string; headers: Record<string, string | string[]>; body: Buffer };

async function journalAndAnswer(b: Buffering, req: BufferedRequest, keys: Extract<RequestKeys, { ok: true }>, parts: Part[], receipts: string[], json: () => unknown) {
  const { rt, route, reply, done, call } = req;
  const config = rt.loaded.config;
  const odooClient = route.heldAnswer !== 'receipt' || route.failureAnswer === 'offline';
  const appended = await Promise.all(
    parts.map((part, i) =>
      b.journal.append({
        receipt: receipts[i]!,
        idemKey: part.key,
        route: route.name,
        cls: route.class,
        priority: config.classes[route.class].priority,
        orderingKey: orderingKey(route.orderingKey, req.device, config.store.id),
        method: call.method,
        target: call.target,
        headers: part.headers,
        body: part.body,
      }),
    ),
  );

  const refused = appended.find((a): a is Extract<AppendResult, { status: 'full' | 'failed' }> => a.status === 'full' || a.status === 'failed');
  if (refused) {
    done(refused.status === 'full' ? 'buffer_full' : 'journal_error');
    b.logger[refused.status === 'full' ? 'warn' : 'error']({ route: route.name, reason: refused.reason }, 'journal refused a buffered write');
    // Whatever of a batch was stored stays stored: the client's re-send finds it by key.
    // An Odoo client must keep its orders: it is told the connection failed, never given an error it would act on.
    if (odooClient) return send(reply, offlineAnswer(`the store's journal cannot take it (${refused.reason})`), []);
    if (refused.status === 'full') return sendError(reply, 507, 'buffer_full', `the store's journal cannot take more (${refused.reason}); nothing was stored`);
    return sendError(reply, 503, 'journal_unavailable', 'the journal could not store the request; nothing was stored', { 'retry-after': '5' });
  }
  const held: Held[] = (appended as Extract<AppendResult, { status: 'stored' | 'existing' }>[]).map((a, i) => {
    const { headers, body } = parts[i]!;
    return a.status === 'stored'
      ? { entry: a.entry, response: undefined, stored: true, queuedBehind: a.queuedBehind, headers, body }
      : { entry: a.entry, response: a.response, stored: false, queuedBehind: false, headers, body };
  });
  const stored = held.filter((h) => h.stored);
  if (stored.length > 0) b.logger.debug({ receipts: stored.map((h) => h.entry.receipt), route: route.name }, 'journal entries stored');

  // New entries go live at once, in order, unless an earlier entry of the same
  // device (or store) is still queued — going now would overtake it — or the
  // ERP was just seen failing (the client is not kept waiting for another failure).
  if (stored.length > 0 && !stored[0]!.queuedBehind && b.breaker.allowLive(performance.now())) {
    const deadline = performance.now() + route.timeoutMs;
    for (const h of stored) {
      const left = Math.round(deadline - performance.now());
      if (left <= 0 || !(await tryLive(b, req, h, left))) break;
    }
  }

  const answer = answerFor(
    held.map((h) => ({ key: h.entry.idemKey, receipt: h.entry.receipt, state: h.entry.state, lastError: h.entry.lastError, response: h.response })),
    {
      mode: route.heldAnswer,
      get rpcId() {
        return requestIdOf(json());
      },
      batch: keys.batch,
    },
  );
  const replayed = answer.outcome === 'delivered' && held.every((h) => !h.stored);
  done(replayed ? 'replayed' : answer.outcome);
  if (replayed) reply.header('idempotent-replayed', 'true');
  return send(reply, answer, answer.status === 202 || answer.deadLetter !== undefined ? [] : held.map((h) => h.entry.receipt));
}

function offlineAnswer(why: string): Answer {
  return { status: 502, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `storegw: ${why}; send again later\n`, outcome: 'buffered' };
}

/**
 * One live try of a stored entry (leased by the caller); `h` is updated with
 * what became of it. True when the ERP settled it (delivered), so the next
 * item may follow.
 */
async function tryLive(b: Buffering, req: BufferedRequest, h: Held, timeoutMs: number): Promise<boolean> {
  const { rt, route, reply } = req;
  const config = rt.loaded.config;
  const { entry } = h;
  // At an ERP that does not dedupe, the attempt is marked as begun first: a
  // gateway killed during it leaves the entry unknown, not pending.
  if (routePolicy(route).dedupe === 'none' && (await b.journal.beginAttempt(entry.receipt)) !== true) return false;
  const attempt = await deliver(
    { cls: route.class, idemKey: entry.idemKey, method: req.call.method, target: req.call.target, headers: h.headers, body: h.body },
    { upstreams: rt.upstreams, pathViews: b.pathViews(), classes: config.classes, pathOutcome: b.pathOutcome, kind: 'live', timeoutMs, maxResponseBytes: config.gateway.limits.maxJsonRpcBodyBytes },
  );
  // The path was too busy to take it in time: nothing was sent; the journal has it.
  if (attempt.shed) return false;
  let decision: Decision;
  try {
    decision = await settle(b.journal, entry, attempt, b.settings(), routePolicy(route), b.logger);
    b.settled(entry, decision);
  } catch (e) {
    if (!(e instanceof UnrecordedError)) throw e;
    // The ERP has answered and the journal cannot say so yet (a full disk): the
    // client gets the answer, and the entry is never sent again meanwhile.
    b.replay.recordLater(entry, attempt);
    decision = decide(attempt.outcome, entry.attempts + 1, b.settings(), routePolicy(route).dedupe);
  }
  if (attempt.path) reply.header('x-gateway-path', attempt.path);
  h.entry = { ...entry, state: decision.action === 'retry' ? 'pending' : decision.action, attempts: entry.attempts + 1 };
  if (decision.action === 'dead') h.entry.lastError = decision.reason;
  if (decision.action === 'delivered' || decision.action === 'dead') h.response = attempt.response;
  return decision.action === 'delivered';
}

export async function answerReceipt(b: Buffering, reply: FastifyReply, receipt: string) {
  const entry = /^[0-9a-f-]{36}$/.test(receipt) ? await b.journal.byReceipt(receipt) : undefined;
  if (!entry) return sendError(reply, 404, 'unknown_receipt', 'no such receipt');
  return reply.send({
    receipt: entry.receipt,
    state: entry.state,
    attempts: entry.attempts,
    ...(entry.upstreamStatus !== null && { upstreamStatus: entry.upstreamStatus }),
    ...(entry.state !== 'delivered' && entry.lastError !== null && { lastError: entry.lastError }),
  });
}
