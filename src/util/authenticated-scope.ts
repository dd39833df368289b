// The one way the hub and the admin API put routes behind a credential: a
// fastify scope (an encapsulated plugin) whose onRequest hook checks every
// request. Routes registered inside it are covered by being there, never by
// being listed; routes outside it (health probes, the dashboard's files) are
// open by being outside. No module keeps a list of another's URLs.
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';

/** Fastify's own 404 answer, word for word: only who may see it changes. */
function notFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ message: `Route ${req.method}:${req.url} not found`, error: 'Not Found', statusCode: 404 });
}

/**
 * Makes `scope` authenticated: `check` runs before anything else for each of
 * its routes, and for every URL no route claims. The latter is why the scope
 * owns the 404: without a credential, a URL that does not exist is refused
 * like one that does, so the refusal says nothing about which routes exist.
 * Call once per server, on a scope without a prefix.
 */
export function authenticate(scope: FastifyInstance, check: onRequestAsyncHookHandler): void {
  scope.addHook('onRequest', check);
  scope.setNotFoundHandler(notFound);
}
