// A running store gateway: the LAN ingress and the admin API over one
// configuration, with reload that never drops what is in flight.
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadGatewayConfig, type LoadedConfig } from '../../edge-config/load.js';
import { CLASS_NAMES } from '../../edge-config/schema.js';
import { Journal } from '../../sync/journal.js';
import type { DueEntry, EntryView } from '../../sync/journal-store.js';
import { ReplayEngine, type ReplaySettings } from '../../sync/replay.js';
import type { Decision } from '../../sync/retry-policy.js';
import { queueRoutes } from '../admin/queue-routes.js';
import { buildAdmin } from '../admin/server.js';
import { readSecretFile } from '../util/secret-file.js';
import { ReadCache } from '../cache/read-cache.js';
import { routePolicy, type Buffering } from './buffered.js';
import { deliver, pathVerdict } from './deliver.js';
import { ErpBreaker } from './erp-breaker.js';
import { buildIngress } from './ingress.js';
import { readBack } from './read-back.js';
import { LinkMonitor, type PathStateChange } from '../link/monitor.js';
import type { AgentHost, DeadLetter, UnknownOutcome } from '../fleet/agent/host.js';
import { FleetSupervisor } from '../fleet/agent/supervisor.js';
import { createGatewayMetrics, registerJournalGauges, registerLinkGauges, registerSchedulerGauges, type GatewayMetrics } from './metrics.js';
import type { PathView } from '../link/path-view.js';
import { buildRuntime, RuntimeHolder } from './runtime.js';
import type { SlotObserver } from './slots.js';

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
  if (a.config.buffer.path !== b.config.buffer.path || a.config.buffer.maxBytes !== b.config.buffer.maxBytes) changed.push('buffer');
  if (a.config.cache.path !== b.config.cache.path || a.config.cache.maxBytes !== b.config.cache.maxBytes) changed.push('cache');
  return changed;
}

function urlOf(app: FastifyInstance): string {
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('server is not listening on TCP');
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `http://${host}:${addr.port}`;
}

const HOUSEKEEPING_MS = 60_000;
const round1 = (v: number) => Math.round(v * 10) / 10;
/** After a live try fails retryably, buffered writes skip the live try this long. */
const LIVE_COOL_OFF_MS = 1000;
/** Delivered entries keep the ERP's answer this long, for clients retrying with the same key. */
const KEEP_DELIVERED_MS = 48 * 3_600_000;

export async function startGateway(initial: LoadedConfig, logger: Logger): Promise<RunningGateway> {
  for (const warning of initial.warnings) logger.warn({ file: initial.file }, warning);
  const metrics = createGatewayMetrics();
  let token = adminToken(initial, logger);
  const slotObserver: SlotObserver = {
    waited: (cls, ms) => metrics.schedulerWait.observe({ class: cls }, ms / 1000),
    shed: (cls, kind) => metrics.shed.inc({ class: cls, kind }),
  };
  const holder = new RuntimeHolder(buildRuntime(initial, slotObserver));
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
  registerJournalGauges(metrics.registry, () => journal.stats());

  // What the fleet agent hears of: link state changes, new dead letters and unknown outcomes.
  const signals = new EventEmitter<{ link: [PathStateChange]; dead: [DeadLetter]; unknown: [UnknownOutcome] }>();
  const linkChanged = (change: PathStateChange) => {
    signals.emit('link', change);
    if (change.to === 'down') ingress.websockets.closePath(change.path);
    // A link back from DOWN: what waited only because the ERP was unreachable goes now, not at the end of its backoff.
    if (change.from === 'down') {
      journal
        .expedite()
        .then((n) => {
          if (n > 0) logger.info({ path: change.path, entries: n }, 'link back: journaled requests waiting for the network are due now');
          replay.wake();
        })
        .catch((e: Error) => logger.error({ err: e }, 'could not expedite the journal'));
    }
  };
  const linkLogger = logger.child({ component: 'link' });
  let monitor = new LinkMonitor(initial.config.paths, initial.config.link, linkLogger, linkChanged);
  const pathViews = (): PathView[] => monitor.views();
  const pathOutcome = (path: string, reached: boolean) => monitor.passive(path, reached);
  registerLinkGauges(metrics.registry, () => monitor.status());

  // Asked for on every replay step: derived once per configuration.
  const settingsOf = new WeakMap<LoadedConfig, ReplaySettings>();
  const replaySettings = (): ReplaySettings => {
    const loaded = holder.current.loaded;
    let s = settingsOf.get(loaded);
    if (!s) {
      const { replay } = loaded.config;
      s = { ...replay.backoff, ratePerSec: replay.ratePerSec, concurrency: replay.concurrency, maxServerErrorAttempts: replay.maxServerErrorAttempts };
      settingsOf.set(loaded, s);
    }
    return s;
  };
  const leases = new Set<string>();
  const breaker = new ErpBreaker(LIVE_COOL_OFF_MS);
  const replayDelivery = (entry: DueEntry) => {
    const rt = holder.acquire();
    const { config } = rt.loaded;
    const timeoutMs = config.routes.find((r) => r.name === entry.route)?.timeoutMs ?? 10_000;
    return deliver(entry, { upstreams: rt.upstreams, pathViews: pathViews(), classes: config.classes, kind: 'replay', timeoutMs, maxResponseBytes: config.gateway.limits.maxJsonRpcBodyBytes })
      .then((attempt) => {
        const verdict = pathVerdict(attempt);
        if (attempt.path && verdict !== undefined) pathOutcome(attempt.path, verdict);
        return attempt;
      })
      .finally(() => holder.release(rt));
  };
  const routeNamed = (name: string) => holder.current.loaded.config.routes.find((r) => r.name === name);
  const replay = new ReplayEngine({
    journal,
    leases,
    deliver: replayDelivery,
    settings: replaySettings,
    policy: (name) => routePolicy(routeNamed(name)),
    checkedRoutes: () => holder.current.loaded.config.routes.filter((r) => r.check !== undefined).map((r) => r.name),
    readBack: async (entry) => {
      const route = routeNamed(entry.route);
      if (!route?.check) throw new Error(`route ${entry.route} has no read-back check`);
      const rt = holder.acquire();
      try {
        const { config } = rt.loaded;
        return await readBack(entry, route.check, {
          upstreams: rt.upstreams,
          pathViews: pathViews(),
          classes: config.classes,
          timeoutMs: route.timeoutMs,
          maxResponseBytes: config.gateway.limits.maxJsonRpcBodyBytes,
        });
      } finally {
        holder.release(rt);
      }
    },
    logger: logger.child({ component: 'replay' }),
    onSettled: (entry, decision) => settled(entry, decision),
  });
  /** Every attempt's decision, live or replay: metrics, the breaker, and the fleet's events. */
  const settled = (entry: EntryView, decision: Decision) => {
    metrics.replayAttempts.inc({ outcome: decision.action });
    if (decision.action === 'retry') breaker.failed(performance.now());
    else breaker.succeeded();
    const about = { receipt: entry.receipt, route: entry.route, cls: entry.cls, attempts: entry.attempts + 1 };
    if (decision.action === 'dead') signals.emit('dead', { ...about, reason: decision.reason });
    if (decision.action === 'unknown') signals.emit('unknown', { ...about, reason: decision.reason });
  };
  const buffering: Buffering = { journal, replay, leases, settings: replaySettings, pathViews, pathOutcome, breaker, settled, logger: logger.child({ component: 'journal' }) };

  const status = async () => {
    const { config, version } = holder.current.loaded;
    const q = await journal.stats();
    const r = replay.status();
    return {
      store: { id: config.store.id, region: config.store.region },
      configVersion: version,
      paths: monitor.status().map((p) => ({
        name: p.name,
        state: p.state,
        score: p.score,
        rttMs: p.rttMs === undefined ? null : round1(p.rttMs),
        jitterMs: round1(p.jitterMs),
        lossPct: round1(p.lossPct),
        monitored: p.monitored,
        ...(p.wireguard && {
          handshakeAgeS: p.wireguard.handshakeAgeS === undefined ? null : Math.round(p.wireguard.handshakeAgeS),
          rxBps: p.wireguard.rxBps === undefined ? null : Math.round(p.wireguard.rxBps),
          txBps: p.wireguard.txBps === undefined ? null : Math.round(p.wireguard.txBps),
          ...(p.wireguard.error !== undefined && { wireguardError: p.wireguard.error }),
        }),
      })),
      queue: { pending: q.pending, dead: q.dead, unknown: q.unknown, delivered: q.delivered, oldestAgeS: Math.round(q.oldestAgeS), bytes: q.bytes, maxBytes: q.maxBytes },
      replay: { paused: r.paused, ratePerSec: r.ratePerSec, inflight: r.inflight },
    };
  };

  const housekeeping = async () => {
    const now = Date.now();
    const expired = await journal.expire(now, holder.current.loaded.config.buffer.maxAgeHours * 3_600_000);
    if (expired.length > 0) logger.warn({ count: expired.length, receipts: expired.slice(0, 20) }, 'journal entries expired and became dead letters');
    await journal.purgeDelivered(now - KEEP_DELIVERED_MS);
  };

  let draining = false;
  const ingress = buildIngress({ runtime: holder, logger, metrics, pathViews, pathOutcome, draining: () => draining, buffering, cache });
  const admin = buildAdmin({
    logger,
    registry: metrics.registry,
    token: () => token,
    status,
    readiness: () => ({ ready: !draining, checks: { config: true, journal: true, draining } }),
    extend: (app) => queueRoutes(app, { journal, replay, logger: logger.child({ component: 'admin' }) }),
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
  monitor.start();
  await housekeeping();

  const housekeepingTimer = setInterval(() => {
    housekeeping().catch((e: Error) => logger.error({ err: e }, 'journal housekeeping failed'));
  }, HOUSEKEEPING_MS);
  housekeepingTimer.unref();
  replay.start();

  const host: AgentHost = {
    config: () => holder.current.loaded,
    status,
    requestCounts: async () => (await metrics.requests.get()).values,
    reload: () => gateway.reload(),
    restartNeeded: (next) => listenChanges(holder.current.loaded, next),
    journal,
    replay,
    onLinkChange: (listener) => {
      signals.on('link', listener);
      return () => signals.off('link', listener);
    },
    onDeadLetter: (listener) => {
      signals.on('dead', listener);
      return () => signals.off('dead', listener);
    },
    onUnknownOutcome: (listener) => {
      signals.on('unknown', listener);
      return () => signals.off('unknown', listener);
    },
  };
  const fleet = new FleetSupervisor(host, logger.child({ component: 'fleet' }));

  const gateway: RunningGateway = {
    url: urlOf(ingress),
    adminUrl: urlOf(admin),
    metrics,
    configVersion: () => holder.current.loaded.version,
    reload() {
      const before = holder.current.loaded;
      try {
        const next = loadGatewayConfig(before.file);
        for (const warning of next.warnings) logger.warn({ file: next.file }, warning);
        const nextToken = adminToken(next, logger);
        holder.swap(buildRuntime(next, slotObserver));
        token = nextToken;
        // Path settings may have changed: watch the new set from a clean record.
        void monitor.stop();
        monitor = new LinkMonitor(next.config.paths, next.config.link, linkLogger, linkChanged);
        monitor.start();
        replay.setRate(next.config.replay.ratePerSec);
        const restartNeeded = [...listenChanges(before, next), ...fleet.apply(next)];
        logger.info({ version: next.version, previous: before.version, restartNeeded }, 'configuration reloaded');
        return { ok: true, version: next.version, restartNeeded };
      } catch (e) {
        logger.error({ file: before.file, keeping: before.version, err: e }, 'configuration reload refused; keeping the running configuration');
        return { ok: false, error: (e as Error).message };
      }
    },
    async close() {
      // Stop taking requests, let in-flight ones finish, then close the pools.
      draining = true;
      await fleet.close();
      clearInterval(housekeepingTimer);
      await monitor.stop();
      await Promise.all([ingress.close(), replay.stop()]);
      await admin.close();
      await holder.close();
      await journal.close();
      cache?.close();
    },
  };
  fleet.apply(initial);
  return gateway;
}
