// A running store gateway: the LAN ingress and the admin API over one
// configuration, with reload that never drops what is in flight.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadGatewayConfig, type LoadedConfig } from '../../edge-config/load.js';
import { buildAdmin } from '../admin/server.js';
import { readSecretFile } from '../util/secret-file.js';
import { buildIngress } from './ingress.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import type { PathView } from './path-choice.js';
import { buildRuntime, RuntimeHolder } from './runtime.js';

export interface RunningGateway {
  /** LAN ingress base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  adminUrl: string;
  metrics: GatewayMetrics;
  configVersion(): string;
  /** Re-reads the configuration file; keeps the running one if the new one is invalid. */
  reload(): ReloadResult;
  close(): Promise<void>;
}

export type ReloadResult = { ok: true; version: string; restartNeeded: string[] } | { ok: false; error: string };

function adminToken(loaded: LoadedConfig, logger: Logger): string | undefined {
  const file = loaded.config.gateway.admin.tokenFile;
  if (file === undefined) return undefined;
  const secret = readSecretFile(file);
  if (secret.warning) logger.warn(secret.warning);
  return secret.value;
}

function listenChanges(a: LoadedConfig, b: LoadedConfig): string[] {
  const changed: string[] = [];
  const ga = a.config.gateway;
  const gb = b.config.gateway;
  if (ga.listen.host !== gb.listen.host || ga.listen.port !== gb.listen.port) changed.push('gateway.listen');
  if (ga.admin.host !== gb.admin.host || ga.admin.port !== gb.admin.port) changed.push('gateway.admin');
  return changed;
}

function urlOf(app: FastifyInstance): string {
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('server is not listening on TCP');
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `http://${host}:${addr.port}`;
}

export async function startGateway(initial: LoadedConfig, logger: Logger): Promise<RunningGateway> {
  const metrics = createGatewayMetrics();
  const holder = new RuntimeHolder(buildRuntime(initial));
  let token = adminToken(initial, logger);

  // Until link monitoring runs, every configured path is offered in its
  // configured order; failures show up as 502/504 on the request itself.
  const pathViews = (): PathView[] =>
    holder.current.loaded.config.paths.map((p) => ({ name: p.name, allowClasses: p.allowClasses, metered: p.metered, state: 'up', score: 100 }));

  const status = () => {
    const { config, version } = holder.current.loaded;
    return {
      store: { id: config.store.id, region: config.store.region },
      configVersion: version,
      paths: pathViews().map((p) => ({ name: p.name, state: p.state, score: p.score, monitored: false })),
    };
  };

  let draining = false;
  const ingress = buildIngress({ runtime: holder, logger, metrics, pathViews, draining: () => draining });
  const admin = buildAdmin({
    logger,
    registry: metrics.registry,
    token: () => token,
    status,
    readiness: () => ({ ready: true, checks: { config: true } }),
  });

  const { listen, admin: adminListen } = initial.config.gateway;
  await ingress.listen({ host: listen.host, port: listen.port });
  try {
    await admin.listen({ host: adminListen.host, port: adminListen.port });
  } catch (e) {
    await ingress.close();
    throw e;
  }

  return {
    url: urlOf(ingress),
    adminUrl: urlOf(admin),
    metrics,
    configVersion: () => holder.current.loaded.version,
    reload() {
      const before = holder.current.loaded;
      try {
        const next = loadGatewayConfig(before.file);
        const nextToken = adminToken(next, logger);
        holder.swap(buildRuntime(next));
        token = nextToken;
        const restartNeeded = listenChanges(before, next);
        logger.info({ version: next.version, previous: before.version, restartNeeded }, 'configuration reloaded');
        return { ok: true, version: next.version, restartNeeded };
      } catch (e) {
        logger.error({ file: before.file, keeping: before.version, error: (e as Error).message }, 'configuration reload refused; keeping the running configuration');
        return { ok: false, error: (e as Error).message };
      }
    },
    async close() {
      // Stop taking requests, let in-flight ones finish, then close the pools.
      draining = true;
      await Promise.all([ingress.close(), admin.close()]);
      await holder.close();
    },
  };
}
