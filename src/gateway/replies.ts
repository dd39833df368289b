import type { FastifyReply } from 'fastify';

/** Every error the gateway itself answers: JSON with a stable `error` code, a message and the request id. */
export function sendError(reply: FastifyReply, status: number, error: string, message: string, extra: Record<string, string> = {}) {
  reply.code(status).headers(extra).type('application/json');
  return reply.send({ error, message, requestId: reply.request.id });
}
