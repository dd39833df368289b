// A running store gateway: the LAN ingress, the admin API, the journal and its
// replay, the link monitor and the fleet agent over one configuration, with a
// reload that never drops what is in flight and keeps what the links have
// shown. Assembly only: each part's job is in its own module.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../../edge-config/load.js';
import { CLASS_NAMES } from '../../edge-config/schema.js';
import { Journal } from '../../sync/journal.js';
import { JournalBackupSchedule } from '../../sync/journal-backup-schedule.js';
import { journalRoutes } from '../admin/journal-routes.js';
import { queueRoutes } from '../admin/queue-routes.js';
import { buildAdmin } from '../admin/server.js';
import { ReadCache } from '../cache/read-cache.js';
import type { ReloadResult } from '../fleet/agent/host.js';
import { FleetSupervisor } from '../fleet/agent/supervisor.js';
import { buildIngress } from '../gateway/ingress.js';
import { createGatewayMetrics, registerJournalBackupGauges, registerJournalGauges, registerLinkGauges, registerSchedulerGauges, type GatewayMetrics } from '../gateway/metrics.js';
import { RuntimeHolder } from '../gateway/runtime.js';
import type { SlotObserver } from '../gateway/slots.js';
import { LinkMonitor } from '../link/monitor.js';
import { fleetHost } from './fleet-host.js';
import { Housekeeping } from './housekeeping.js';
import { onLinkChange } from './link-events.js';
import { reload } from './reload.js';
import { wireReplay } from './replay-wiring.js';
import { buildAppRuntime, type AppRuntime } from './runtime.js';
import { createSignals, type Signals } from './signals.js';
import { gatewayStatus, staffFacts } from './status.js';

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

function urlOf(app: FastifyInstance): string {
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('server is not listening on TCP');
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `http://${host}:${addr.port}`;
}

export async function startGateway(initial: LoadedConfig, logger: Logger): Promise<RunningGateway> {
  const metrics = createGatewayMetrics();
  const slotObserver: SlotObserver = {
    waited: (cls, ms) => metrics.schedulerWait.record({ class: cls }, ms / 1000),
    shed: (cls, kind) => metrics.shed.inc({ class: cls, kind }),
  };
  const build = (loaded: LoadedConfig) => buildAppRuntime(loaded, slotObserver, logger);
  const holder = new RuntimeHolder<AppRuntime>(build(initial));
  registerSchedulerGauges(metrics.registry, () =>
    [...holder.current.upstreams.values()].flatMap((u) => CLASS_NAMES.map((cls) => ({ path: u.name, cls, depth: u.slots.scheduler.depth(cls) }))),
  );
  // A refused journal must not leave pools (or a worker) holding the process open.
  const journal = await Journal.open(initial.config.buffer.path, initial.config.buffer.maxBytes).catch(async (e: unknown) => {
    await holder.close();
    throw e;
  });
  // Never refuses: a cache that cannot be had leaves cache routes forwarded live only.
  const cache = ReadCache.open(initial.config.cache.path, initial.config.cache.maxBytes, logger.child({ component: 'cache' }));
  registerJournalGauges(metrics.registry, () => journal.stats(), () => holder.current.loaded.config.buffer.maxAgeHours * 3600);

  const signals = createSignals();
  // The monitor's callbacks fire only once it has started, after the ingress and the replay engine exist.
  const linkChanged = onLinkChange({
    signals,
    journal,
    closeSessions: (path) => ingress.websockets.closePath(path),
    wakeReplay: () => replay.wake(),
    holdReplay: (ms) => replay.holdFor(ms),
    startJitterMs: () => holder.current.loaded.config.replay.startJitterMs,
    logger,
  });
  const monitor = new LinkMonitor(initial.config.paths, initial.config.link, logger.child({ component: 'link' }), linkChanged);
  const pathViews = () => monitor.views();
  const pathOutcome = (path: string, reached: boolean) => monitor.passive(path, reached);
  registerLinkGauges(metrics.registry, () => monitor.status());

  const { replay, buffering } = wireReplay({ holder, journal, pathViews, pathOutcome, metrics, signals, logger });
  const backups = new JournalBackupSchedule(
    () => holder.current.loaded.config.buffer.backup,
    (file) => journal.backup(file),
    (o) => {
      if (o.ok) return logger.info({ path: o.path, ms: o.ms }, 'journal backed up');
      metrics.journalBackupFailures.inc();
      logger.error({ path: o.path, err: o.error }, 'journal backup failed (the store keeps selling; tried again at the next interval)');
    },
  );
  registerJournalBackupGauges(metrics.registry, () => backups.status());
  const housekeeping = new Housekeeping({ journal, buffer: () => holder.current.loaded.config.buffer, signals, logger });
  const status = () => gatewayStatus({ holder, monitor, journal, replay, backup: () => backups.status(), expiryWarning: () => housekeeping.expiryWarning() });

  let draining = false;
  const ingress = buildIngress({
    runtime: holder,
    logger,
    metrics,
    pathViews,
    pathOutcome,
    draining: () => draining,
    buffering,
    cache,
    staffFacts: () => staffFacts({ holder, monitor, journal }),
  });
  const admin = buildAdmin({
    logger,
    registry: metrics.registry,
    token: () => holder.current.adminToken,
    status,
    readiness: () => ({ ready: !draining, checks: { config: true, journal: true, draining } }),
    extend: (app) => {
      queueRoutes(app, { journal, replay, logger: logger.child({ component: 'admin' }) });
      journalRoutes(app, { journal, journalFile: initial.config.buffer.path, logger: logger.child({ component: 'admin' }) });
    },
  });

  const { listen, admin: adminListen } = initial.config.gateway;
  try {
    await ingress.listen({ host: listen.host, port: listen.port });
    await admin.listen({ host: adminListen.host, port: adminListen.port });
  } catch (e) {
    await Promise.all([ingress.close(), admin.close()]);
    await journal.close();
    cache?.close();
    throw e;
  }

  const reloadNow = () =>
    reload({
      holder,
      build,
      applied: (next) => {
        const { config } = next.loaded;
        monitor.configure(config.paths, config.link);
        replay.setRate(config.replay.ratePerSec);
        return fleet.apply(next.loaded);
      },
      logger,
    });
  const fleet = new FleetSupervisor(fleetHost({ holder, status, metrics, reload: reloadNow, journal, replay, signals }), logger.child({ component: 'fleet' }));
  // The agent subscribes first: the monitor's first judgements and what the first housekeeping
  // pass finds (entries that expired, or near expiry, while the gateway was off) reach the hub.
  fleet.apply(initial);
  await reportInterrupted(journal, signals, logger);
  monitor.start();
  await housekeeping.start();
  replay.start();
  backups.start();

  return {
    url: urlOf(ingress),
    adminUrl: urlOf(admin),
    metrics,
    configVersion: () => holder.current.loaded.version,
    reload: reloadNow,
    async close() {
      // Stop taking requests, let in-flight ones finish, then close the pools.
      draining = true;
      await fleet.close();
      housekeeping.stop();
      await backups.stop();
      await monitor.stop();
      await Promise.all([ingress.close(), replay.stop()]);
      await admin.close();
      await holder.close();
      await journal.close();
      cache?.close();
    },
  };
}

/**
 * Attempts the last process left under way at an ERP that does not dedupe were
 * made unknown when the journal opened: each is an unknown outcome, logged and
 * told to the fleet as if this process had just made it.
 */
async function reportInterrupted(journal: Journal, signals: Signals, logger: Logger): Promise<void> {
  const interrupted = await journal.interruptedAtOpen();
  if (interrupted.length === 0) return;
  logger.warn({ count: interrupted.length, receipts: interrupted.slice(0, 20).map((e) => e.receipt) }, 'attempts under way when the gateway stopped are unknown: held for their read-back or an operator, not sent again');
  for (const e of interrupted) signals.emit('unknown', { receipt: e.receipt, route: e.route, cls: e.cls, attempts: e.attempts, reason: e.lastError ?? 'interrupted' });
}
