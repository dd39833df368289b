// The hub's probes for service and container managers: open, holding nothing
// but whether the hub is up and how many gateways are connected.
import type { FastifyPluginAsync } from 'fastify';
import type { Connections } from '../connections.js';

export function healthApi(connections: Pick<Connections, 'size'>): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async () => ({ ready: true, gateways: connections.size }));
  };
}
