import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { relayAnswer, type AnswerHeaders } from '../http/relay.js';

/** Every error the gateway itself answers: JSON with a stable `error` code, a message and the request id. */
export function sendError(reply: FastifyReply, status: number, error: string, message: string, extra: Record<string, string> = {}) {
  reply.code(status).headers(extra).type('application/json');
  return reply.send({ error, message, requestId: reply.request.id });
}

/**
 * The ERP's answer, passed to the client as it comes, past fastify's reply:
 * there is nothing to serialize or hook here, and skipping its send path
 * saved about 5 % of the CPU per request (docs/benchmarks.md). `headers` must
 * already hold the gateway's own (the request id). A draining gateway closes
 * the connection after it, as the ingress's onSend hook does for the rest.
 */
export function passAnswer(reply: FastifyReply, status: number, headers: AnswerHeaders, body: Readable, draining: boolean): void {
  reply.hijack();
  if (draining) headers.connection = 'close';
  relayAnswer(reply.raw, status, headers, body);
}
