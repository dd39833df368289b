// `buffer` routes: the request is journaled durably first, then tried live
// within the route's deadline. The client gets the ERP's answer when the live
// try settles it, else 202 with a receipt, and the replay engine delivers it.
import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { RouteConfig } from '../../edge-config/schema.js';
import { idempotencyKey, orderingKey } from '../../sync/idempotency.js';
import type { Journal } from '../../sync/journal.js';
import type { EntryView, StoredResponse } from '../../sync/journal-store.js';
import { settle, type ReplayEngine, type ReplaySettings } from '../../sync/replay.js';
import type { Decision } from '../../sync/retry-policy.js';
import { deliver, pathVerdict } from './deliver.js';
import type { ErpBreaker } from './erp-breaker.js';
import { sendError } from './replies.js';
import type { Outcome } from './metrics.js';
import type { PathView } from './path-choice.js';
import type { GatewayRuntime } from './runtime.js';

export interface Buffering {
  journal: Journal;
  replay: ReplayEngine;
  /** Receipts being tried right now; the replay engine leaves them alone. */
  leases: Set<string>;
  settings(): ReplaySettings;
  pathViews(): readonly PathView[];
  /** Reports whether a path itself carried a request (for the link monitor). */
  pathOutcome(path: string, reached: boolean): void;
  /** Whether the ERP was just seen failing (live tries pause). */
  breaker: ErpBreaker;
  /** Every attempt's decision, live or replay: metrics and the breaker. */
  settled(decision: Decision): void;
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

function parseJsonBody(body: Buffer, contentType: string | string[] | undefined): unknown {
  if (!String(contentType ?? '').includes('json')) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function accepted(reply: FastifyReply, entry: EntryView) {
  reply.code(202).header('x-gateway-receipt', entry.receipt).type('application/json');
  return reply.send({ status: 'buffered', receipt: entry.receipt, idempotencyKey: entry.idemKey });
}

function sendStored(reply: FastifyReply, entry: EntryView, response: StoredResponse, replayed: boolean) {
  reply.code(response.status).headers(response.headers).header('x-gateway-receipt', entry.receipt);
  if (replayed) reply.header('idempotent-replayed', 'true');
  return reply.send(response.body);
}

export async function handleBuffered(b: Buffering, req: BufferedRequest) {
  const { rt, route, reply, done, call } = req;
  const config = rt.loaded.config;
  const json = req.json ?? parseJsonBody(call.body, call.headers['content-type']);
  const { key } = idempotencyKey(route, { headers: reply.request.headers, json });

  const appended = await b.journal.append({
    receipt: randomUUID(),
    idemKey: key,
    route: route.name,
    cls: route.class,
    priority: config.classes[route.class].priority,
    orderingKey: orderingKey(route.orderingKey, req.device, config.store.id),
    method: call.method,
    target: call.target,
    headers: call.headers,
    body: call.body,
  });

  switch (appended.status) {
    case 'full':
      done('buffer_full');
      b.logger.warn({ route: route.name, reason: appended.reason }, 'journal full: buffered write refused');
      return sendError(reply, 507, 'buffer_full', `the store's journal cannot take more (${appended.reason}); nothing was stored`);
    case 'failed':
      done('journal_error');
      b.logger.error({ route: route.name, reason: appended.reason }, 'journal write failed');
      return sendError(reply, 503, 'journal_unavailable', 'the journal could not store the request; nothing was stored', { 'retry-after': '5' });
    case 'existing': {
      const { entry, response } = appended;
      if (response) {
        done('replayed');
        return sendStored(reply, entry, response, true);
      }
      if (entry.state === 'dead') {
        done('refused');
        reply.header('x-gateway-receipt', entry.receipt);
        return sendError(reply, 409, 'dead_letter', `this request was given up (${entry.lastError ?? 'dead letter'}); ask the store's IT to retry it`);
      }
      done('buffered');
      return accepted(reply, entry);
    }
    case 'stored':
      break;
  }

  const { entry, queuedBehind } = appended;
  b.logger.debug({ receipt: entry.receipt, route: route.name, queuedBehind }, 'journal entry stored');
  // An earlier entry of the same device (or store) is still queued: going live
  // now would overtake it, so this one waits its turn. And while the ERP was
  // just seen failing, the client is not kept waiting for another failure.
  if (queuedBehind || !b.breaker.allowLive(performance.now())) {
    done('buffered');
    b.replay.wake();
    return accepted(reply, entry);
  }

  b.leases.add(entry.receipt);
  try {
    const attempt = await deliver(
      { cls: route.class, idemKey: key, ...call },
      { upstreams: rt.upstreams, pathViews: b.pathViews(), classes: config.classes, kind: 'live', timeoutMs: route.timeoutMs, maxResponseBytes: config.gateway.limits.maxJsonRpcBodyBytes },
    );
    // The path was too busy to take it in time: nothing was sent; the journal has it.
    if (attempt.shed) {
      done('buffered');
      return accepted(reply, entry);
    }
    const decision = await settle(b.journal, entry, attempt, b.settings(), b.logger);
    b.settled(decision);
    if (attempt.path) {
      reply.header('x-gateway-path', attempt.path);
      const verdict = pathVerdict(attempt);
      if (verdict !== undefined) b.pathOutcome(attempt.path, verdict);
    }
    if (decision.action !== 'retry' && attempt.response) {
      done(decision.action === 'delivered' ? 'delivered' : 'refused');
      return sendStored(reply, entry, attempt.response, false);
    }
  } finally {
    b.leases.delete(entry.receipt);
    b.replay.wake();
  }
  done('buffered');
  return accepted(reply, entry);
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
