// The hub's HTTP server (CONTRACT.md, "Hub ops API"), put together from one
// plugin per resource in two scopes: the open one (health probes, the
// dashboard's page and files) and the ops one, where every route, and every
// URL no route claims, needs an ops token (ops-auth.ts). Where a route is
// registered decides who may call it; nothing lists URLs.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { dashboardRoutes } from '../../dashboard/serve.js';
import type { HubAuth } from '../auth.js';
import type { Commands, Who } from '../commands.js';
import type { Connections } from '../connections.js';
import type { DesiredState } from '../desired.js';
import type { DrainBudgets } from '../drain-budget.js';
import type { Ingest } from '../ingest.js';
import type { Rollouts } from '../rollouts.js';
import type { HubStore } from '../store.js';
import { commandsApi } from './commands.js';
import { configsApi } from './configs.js';
import { gatewaysApi } from './gateways.js';
import { healthApi } from './health.js';
import { requireOpsToken } from './ops-auth.js';
import { rolloutsApi } from './rollouts.js';
import { whoamiApi } from './whoami.js';

export interface HubApiDeps {
  auth: () => HubAuth;
  store: HubStore;
  ingest: Ingest;
  connections: Connections;
  commands: Commands;
  desired: DesiredState;
  rollouts: Rollouts;
  drains: Pick<DrainBudgets, 'view'>;
  /** Gateways connected to other hub replicas (and maybe this one); empty with one replica. */
  onlineElsewhere(): Promise<ReadonlySet<string>>;
  /** The desired config of a gateway not connected here changed: the replica holding it pushes it (none with one replica). */
  desiredElsewhere(gatewayId: string, who: Who): void;
  logger: Logger;
  commandTimeoutMs: number;
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** What anyone may fetch: it holds no data (the API the dashboard calls is in the ops scope). */
function openScope(d: HubApiDeps): FastifyPluginAsync {
  return async (open) => {
    await open.register(healthApi(d.connections, d.store));
    dashboardRoutes(open, d.logger.child({ component: 'dashboard' }));
  };
}

function opsScope(d: HubApiDeps): FastifyPluginAsync {
  return async (api) => {
    requireOpsToken(api, d.auth);
    // A config is YAML (PUT /v1/gateways/:id/config); the body reaches the route as text.
    // Scope-wide, so that every route takes a YAML body to its schema check alike.
    for (const type of YAML_TYPES) api.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));
    // Connected before, or provisioned in the gateway tokens file (and so able to connect).
    const known = async (id: string) => d.auth().knows(id) || (await d.store.gateways.get(id)) !== undefined;
    await api.register(whoamiApi);
    await api.register(gatewaysApi(d));
    await api.register(commandsApi({ ...d, gateways: d.store.gateways, known }));
    await api.register(configsApi({ ...d, gateways: d.store.gateways, known }));
    await api.register(rolloutsApi(d.rollouts));
  };
}

export function buildHubApi(d: HubApiDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: d.logger.child({ component: 'ops-api' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  void app.register(openScope(d));
  void app.register(opsScope(d));
  return app;
}
