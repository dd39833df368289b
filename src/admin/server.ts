// The admin API on its own port (loopback by default): health, readiness,
// Prometheus metrics and status. Health and readiness stay open so container
// and service managers can probe them; everything else needs the bearer token
// when one is configured.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { bearerMatches } from './auth.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface AdminDeps {
  logger: Logger;
  registry: Registry;
  /** The admin token, or undefined for an open admin API. Read through a function so a reload can change it. */
  token(): string | undefined;
  status(): unknown;
  readiness(): Readiness;
  /** Lets later features (journal, replay) add their routes under the same auth. */
  extend?: (app: FastifyInstance) => void;
}

const OPEN = new Set(['/healthz', '/readyz']);

export function buildAdmin(deps: AdminDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.logger.child({ component: 'admin' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });

  app.addHook('onRequest', async (request, reply) => {
    const token = deps.token();
    if (token === undefined || OPEN.has(request.routeOptions.url ?? '')) return;
    if (!bearerMatches(request.headers.authorization, token)) {
      reply.code(401).header('www-authenticate', 'Bearer realm="storegw-admin"');
      return reply.send({ error: 'unauthorized' });
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = deps.readiness();
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/metrics', async (_req, reply) => {
    reply.type(deps.registry.contentType);
    return deps.registry.metrics();
  });
  app.get('/v1/status', async () => deps.status());
  deps.extend?.(app);
  return app;
}
