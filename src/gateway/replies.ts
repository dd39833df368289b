import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

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
export function passAnswer(reply: FastifyReply, status: number, headers: Record<string, number | string | string[] | undefined>, body: Readable, draining: boolean): void {
  reply.hijack();
  const res = reply.raw;
  // A client gone while the ERP answered: nothing would read the answer, which would keep its slot.
  if (res.destroyed) {
    body.once('error', () => undefined).destroy();
    return;
  }
  if (draining) headers.connection = 'close';
  res.writeHead(status, headers);
  // pipe and two listeners, not pipeline(): in the same A/B, pipeline() cost 1.16× the CPU per request of fastify's send.
  // Either side failing tears the other down: an answer cut off cuts the client's, a client gone frees the answer (and its slot).
  body.on('error', () => res.destroy());
  res.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(res);
}
