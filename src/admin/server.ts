// The admin API on its own port (loopback by default): health, readiness,
// Prometheus metrics and status, and the routes gateway assembly adds (the
// queue's). Two scopes: the probes, open so container and service managers can
// call them; and the rest, where every route and every unknown URL needs the
// bearer token when one is configured. Where a route is registered decides.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { authenticate } from '../util/authenticated-scope.js';
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
  /** Lets later features (journal, replay) add their routes under the same auth: it is given the token's scope. */
  extend?: (app: FastifyInstance) => void;
}

function probes(deps: AdminDeps): FastifyPluginAsync {
  return async (open) => {
    open.get('/healthz', async () => ({ status: 'ok' }));
    open.get('/readyz', async (_req, reply) => {
      const r = deps.readiness();
      return reply.code(r.ready ? 200 : 503).send(r);
    });
  };
}

function tokenScope(deps: AdminDeps): FastifyPluginAsync {
  return async (admin) => {
    authenticate(admin, async (request, reply) => {
      const token = deps.token();
      if (token === undefined || bearerMatches(request.headers.authorization, token)) return;
      reply.code(401).header('www-authenticate', 'Bearer realm="storegw-admin"');
      return reply.send({ error: 'unauthorized' });
    });
    admin.get('/metrics', async (_req, reply) => {
      reply.type(deps.registry.contentType);
      return deps.registry.metrics();
    });
    admin.get('/v1/status', async () => deps.status());
    deps.extend?.(admin);
  };
}

export function buildAdmin(deps: AdminDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.logger.child({ component: 'admin' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  void app.register(probes(deps));
  void app.register(tokenScope(deps));
  return app;
}
