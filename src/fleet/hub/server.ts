// The fleet hub: one HTTP server for the ops API and the gateways' websocket
// endpoint. ws runs with noServer on the server's 'upgrade' event (not as a
// fastify plugin) so that the gateway's token is checked before the handshake
// completes and an unknown caller costs nothing but a 401. Region drain budgets
// (drain-budget.ts) hear of every gateway's hello, backlog and departure here.
// On PostgreSQL the hub is one of possibly several replicas (replicas.ts): it
// records which gateways it holds, and hears commands for them through its
// own LISTEN connection; on SQLite it is the only one.
import type { Logger } from 'pino';
import type { LoadedHubConfig } from '../../../edge-config/hub-load.js';
import { message, type DrainGrantMessage } from '../protocol.js';
import { buildHubApi } from './api/app.js';
import { loadHubAuth, type HubAuth } from './auth.js';
import { Commands, type Who } from './commands.js';
import { Connections } from './connections.js';
import { DesiredState } from './desired.js';
import { DrainBudgets } from './drain-budget.js';
import { Ingest } from './ingest.js';
import { newReplicaId, Replica } from './replicas.js';
import { Rollouts } from './rollouts.js';
import { Presence } from './store/presence.js';
import { HubStore } from './store.js';
import { postgresStore } from './store/postgres-config.js';
import { relayChannel } from './store/relay.js';
import { HUB_APPLICATION_ID } from './store-schema.js';
import { PostgresListener } from './store/sql/listener.js';
import { SessionLock } from './store/sql/session-lock.js';

export interface RunningHub {
  /** http://host:port of the ops API; gateways connect to ws://host:port/v1/gateways/connect. */
  url: string;
  port: number;
  /** Re-reads the gateway tokens file and the ops token files (SIGHUP); gateways whose token is gone are disconnected. */
  reloadTokens(): void;
  close(): Promise<void>;
}

export async function startHub(loaded: LoadedHubConfig, logger: Logger): Promise<RunningHub> {
  const c = loaded.config;
  const log = logger.child({ component: 'hub' });
  const readAuth = () => {
    const { auth, warnings } = loadHubAuth(c.auth.gatewayTokensFile, c.auth.opsTokens);
    for (const w of warnings) log.warn(w);
    return auth;
  };
  let auth: HubAuth = readAuth();

  const database = c.store.database;
  const where = 'sqlite' in database ? database : { postgres: postgresStore(database.postgres) };
  const postgres = 'postgres' in where ? where.postgres : undefined;
  const store = await HubStore.open(where, (e) => log.warn({ err: e }, 'lost an idle database connection; the next query opens another'));
  // Whatever the last run left behind, nothing is connected yet.
  await store.gateways.markAllOffline();
  // What the handlers below write by themselves: kept in order by the store, a failure logged.
  const background = (gateway: string, what: string, work: Promise<void>) => void work.catch((e: unknown) => log.error({ gateway, err: e }, `cannot record ${what}`));
  // Committed telemetry and events are acknowledged to the gateways that take acks (on this replica, still connected):
  // until then they keep them, and send them again after a reconnect.
  const ingest = new Ingest(store, log, c.store.flushIntervalMs, (ids) => {
    for (const [gatewayId, committed] of ids) connections.get(gatewayId)?.ack(committed);
  });
  // With replicas, how many of each region's stores the others hold, read each second: a region coming
  // back after an outage reconnects its stores to every replica at once.
  let heldElsewhere = new Map<string, number>();
  const drains = new DrainBudgets({
    budgets: c.regions,
    leaseMs: c.drain.grantLeaseMs,
    send: (id, ratePerSec, leaseMs) => connections.get(id)?.send(message<DrainGrantMessage>({ type: 'drain.grant', ratePerSec, leaseMs })) ?? false,
    ...(postgres && { heldElsewhere: () => heldElsewhere }),
  });
  const drainTurn = async () => {
    if (replica && Object.keys(c.regions).length > 0) {
      try {
        heldElsewhere = await replica.heldElsewhereByRegion();
      } catch (e) {
        log.error({ err: e }, 'cannot read which stores the other hub replicas hold; region drain budgets are shared out as last read');
      }
    }
    drains.tick();
  };
  const drainTimer = setInterval(() => void drainTurn(), postgres ? Math.min(1000, drains.tickMs) : drains.tickMs);
  drainTimer.unref();

  const connections = new Connections(
    () => auth,
    c.connections,
    {
      hello(conn, msg, first) {
        const now = Date.now();
        // With replicas, a connection's first hello also records that this replica holds the gateway.
        const hello = { id: conn.id, region: msg.store.region, tags: msg.store.tags, version: msg.version, configVersion: msg.configVersion, ts: Math.min(msg.ts, now), paths: msg.paths };
        background(conn.id, 'a hello', store.hello(hello, now, first ? replica?.id : undefined));
        if (first) {
          log.info({ gateway: conn.id, remote: conn.remote, version: msg.version, configVersion: msg.configVersion }, 'gateway connected');
          ingest.event({ gatewayId: conn.id, ts: now, source: 'hub', event: 'hub.connected', details: { remote: conn.remote, version: msg.version, configVersion: msg.configVersion } });
          rollouts.observe(conn.id, { kind: 'online' });
          desired.connected(conn.id);
          drains.joined(conn.id, msg.store.region);
        }
        rollouts.observe(conn.id, { kind: 'report', configVersion: msg.configVersion, paths: msg.paths });
      },
      message(conn, msg) {
        ingest.seen(conn.id, Date.now());
        switch (msg.type) {
          case 'telemetry': {
            // A gateway clock ahead of the hub's must not pin its "latest" state in the future.
            const ts = Math.min(msg.ts, Date.now());
            conn.report(ts, msg.configVersion, msg.paths);
            const { type: _type, id: _id, ...sample } = msg;
            ingest.telemetry(conn.id, { ...sample, ts }, msg.id);
            if (msg.spooled) break;
            rollouts.observe(conn.id, { kind: 'report', configVersion: msg.configVersion, paths: msg.paths });
            drains.backlog(conn.id, msg.queue, ts);
            break;
          }
          case 'event':
            ingest.event({ gatewayId: conn.id, ts: Math.min(msg.ts, Date.now()), source: 'gateway', event: msg.event, details: { ...msg.details, ...(msg.spooled && { spooled: true }) }, msgId: msg.id });
            if (msg.spooled) break;
            if (msg.event === 'config.rolled_back') desired.rolledBack(conn.id, msg.details);
            rollouts.observe(conn.id, { kind: 'event', event: msg.event });
            break;
          case 'result':
          case 'error':
            if (!commands.answer(conn, msg)) log.debug({ gateway: conn.id, type: msg.type, re: msg.re }, 'an answer nothing waits for (late, or unknown)');
            break;
        }
      },
      closed(conn, wasLive, code) {
        commands.connectionClosed(conn);
        if (!wasLive) return;
        const now = Date.now();
        log.info({ gateway: conn.id, code }, 'gateway disconnected');
        background(conn.id, 'a disconnect', store.left(conn.id, now, replica?.id));
        ingest.event({ gatewayId: conn.id, ts: now, source: 'hub', event: 'hub.disconnected', details: { code } });
        rollouts.observe(conn.id, { kind: 'offline' });
        drains.left(conn.id);
      },
    },
    log,
  );
  // The handlers above run only once gateways connect, after these exist.
  const replica: Replica | undefined = postgres
    ? new Replica(newReplicaId(), {
        store: {
          presence: store.presence,
          holder: store.routing.holder,
          relay: (to, body, now) => store.routing.relay.put(to, body, now),
          take: (to, seq) => store.routing.relay.take(to, seq),
          waiting: (to) => store.routing.relay.waiting(to),
          expireRelay: (cutoff) => store.routing.relay.expire(cutoff),
        },
        deliver: (gatewayId, msg, timeoutMs) => commands.deliver(gatewayId, msg, timeoutMs),
        desiredChanged: (gatewayId, who) => desired.changed(gatewayId, who),
        beat: async (id: string, now: number): Promise<void> => new Presence(listener!.session()).heartbeat(id, now),
        logger: log,
        heartbeatMs: c.connections.heartbeatIntervalMs,
      })
    : undefined;
  const listener: PostgresListener | undefined =
    postgres && replica
      ? new PostgresListener(postgres, relayChannel(replica.id), { notification: (seq) => void replica.received(Number(seq)), listening: () => void replica.listening() }, log)
      : undefined;
  const commands = new Commands({ connections, log: store.commands, logger: log, maxInFlightPerGateway: c.commands.maxInFlightPerGateway, ...(replica && { route: replica.route }) });
  const desired = new DesiredState({ configs: store.desired, commands, connections, logger: log, applyTimeoutMs: c.commands.configApplyTimeoutMs });
  const rollouts = new Rollouts({
    gateways: store.gateways,
    states: store.rollouts,
    configs: store.desired,
    events: store.events,
    replicas: replica && { id: replica.id, online: () => replica.online(), isLive: (id) => replica.isLive(id), push: (gatewayId, who) => replica.desiredElsewhere(gatewayId, who) },
    desired,
    connections,
    logger: log,
    concurrency: c.rollouts.concurrency,
    applyTimeoutMs: c.commands.configApplyTimeoutMs,
  });

  // Which gateways are online: on SQLite the ones connected here; on PostgreSQL those a live replica holds, too.
  const onlineElsewhere = replica ? () => replica.online() : () => Promise.resolve(new Set<string>());
  const desiredElsewhere = replica ? (gatewayId: string, who: Who) => void replica.desiredElsewhere(gatewayId, who) : () => undefined;
  const app = buildHubApi({ auth: () => auth, store, ingest, connections, commands, desired, rollouts, drains, onlineElsewhere, desiredElsewhere, logger: log, commandTimeoutMs: c.commands.timeoutMs });
  app.server.on('upgrade', connections.handleUpgrade);

  // With replicas, one runs housekeeping: the one holding this lock, tried again at every turn so
  // that another takes over when its holder dies. (Two ints: apart from the migration's one-bigint lock.)
  const leaderLock = postgres ? new SessionLock(postgres, [HUB_APPLICATION_ID, 1], log) : undefined;
  const housekeeping = startHousekeeping(store, log, c.store, leaderLock && (() => leaderLock.tryAcquire()));

  try {
    await replica?.start();
    await listener?.start();
    if (replica) log.info({ replica: replica.id }, 'hub replica on PostgreSQL: gateways connected to other replicas are reached through them');
    await rollouts.settleAtStart(replica && c.connections.heartbeatIntervalMs);
    await app.listen({ host: c.listen.host, port: c.listen.port });
  } catch (e) {
    clearInterval(drainTimer);
    housekeeping.stop();
    await leaderLock?.close();
    await listener?.close();
    await replica?.close();
    await connections.close();
    await ingest.close();
    await store.close();
    throw e;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : c.listen.port;
  const host = c.listen.host === '0.0.0.0' || c.listen.host === '::' ? '127.0.0.1' : c.listen.host;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    reloadTokens() {
      try {
        auth = readAuth();
      } catch (e) {
        log.error({ err: e }, 'token files not reloaded; the previous tokens stay in force');
        return;
      }
      const revoked = connections.revokeStale();
      log.info({ revoked }, 'token files reloaded');
    },
    async close() {
      rollouts.close();
      clearInterval(drainTimer);
      housekeeping.stop();
      await leaderLock?.close();
      // Gateways first: commands waiting on them end now, so the API's requests finish.
      await connections.close();
      await listener?.close();
      await replica?.close();
      await app.close();
      await ingest.close();
      await store.close();
    },
  };
}

/**
 * Rolls telemetry up and expires old rows, in bounded passes so the event loop keeps turning;
 * only while `leading` (with replicas) says this replica is the one to do it.
 */
function startHousekeeping(store: HubStore, log: Logger, s: { housekeepingIntervalMs: number; rawRetentionHours: number; telemetryRetentionHours: number }, leading: (() => Promise<boolean>) | undefined) {
  let running = false;
  let stopped = false;
  let leader: boolean | undefined;
  const H = 3_600_000;
  const run = async () => {
    if (running) return;
    running = true;
    if (leading) {
      const leads = await leading();
      if (leads !== leader) log.info({ leader: leads }, leads ? 'this replica runs housekeeping (it holds the leader lock)' : 'another replica runs housekeeping (it holds the leader lock)');
      leader = leads;
      if (!leads) {
        running = false;
        return;
      }
    }
    let rolledUp = 0;
    let expired = 0;
    try {
      for (;;) {
        if (stopped) return;
        const r = await store.housekeep(Date.now(), s.rawRetentionHours * H, s.telemetryRetentionHours * H);
        rolledUp += r.rolledUp;
        expired += r.expired;
        if (!r.more) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (rolledUp + expired > 0) log.info({ rolledUp, expired }, 'telemetry housekeeping');
    } catch (e) {
      log.error({ err: e }, 'telemetry housekeeping failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void run(), s.housekeepingIntervalMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
