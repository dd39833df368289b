// The ops API's door: every route in the scope this is applied to needs an ops
// token, and a viewer's token only reads. Who the token is travels with the
// request for the routes that record it (commands, configs, rollouts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate } from '../../../util/authenticated-scope.js';
import { roleAllows, type HubAuth, type OpsIdentity } from '../auth.js';

const IDENTITY = 'opsIdentity';

/** Puts `scope` behind the ops tokens. `auth` is read per request: a reload (SIGHUP) takes effect at once. */
export function requireOpsToken(scope: FastifyInstance, auth: () => HubAuth): void {
  scope.decorateRequest(IDENTITY, null);
  authenticate(scope, async (req, reply) => {
    const identity = auth().ops(req.headers.authorization);
    if (identity === undefined) {
      reply.code(401).header('www-authenticate', 'Bearer realm="storegw-hub"');
      return reply.send({ error: 'unauthorized' });
    }
    if (!roleAllows(identity.role, req.method)) return reply.code(403).send({ error: 'forbidden', message: `the ${identity.role} role may only read` });
    req.setDecorator(IDENTITY, identity);
  });
}

/** The caller of a request that passed requireOpsToken's check (outside such a scope fastify throws: the decorator is not there). */
export function opsIdentity(req: FastifyRequest): OpsIdentity {
  return req.getDecorator<OpsIdentity>(IDENTITY);
}
