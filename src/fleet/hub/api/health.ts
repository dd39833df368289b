// The hub's probes for service and container managers: open, holding nothing
// but whether the hub is up, whether its database answers, and how many
// gateways are connected. Liveness does not touch the database (a database
// outage must not get every hub replica restarted); readiness does (a replica
// that cannot reach it is taken out of the Service until it can).
import type { FastifyPluginAsync } from 'fastify';
import type { Connections } from '../connections.js';
import type { HubStore } from '../store.js';

/** How long the database may take to answer a readiness probe (kubelet's default probe timeout is 1 s). */
const PING_TIMEOUT_MS = 900;

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export function healthApi(connections: Pick<Connections, 'size'>, store: Pick<HubStore, 'ping'>): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      try {
        await withTimeout(store.ping(), PING_TIMEOUT_MS);
      } catch (e) {
        return reply.code(503).send({ ready: false, database: (e as Error).message, gateways: connections.size });
      }
      return { ready: true, gateways: connections.size };
    });
  };
}
