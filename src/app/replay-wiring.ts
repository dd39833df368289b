// The replay engine and the buffer routes' share of the process, wired to the
// running configuration: replay deliveries go through the same paths as live
// traffic (and report what they said of the path), read-back checks ask the
// ERP through them, and every settled attempt, live or replayed, feeds the
// metrics, the ERP breaker and the fleet's events.
import type { Logger } from 'pino';
import type { Journal } from '../../sync/journal.js';
import type { DueEntry, EntryView } from '../../sync/journal-store.js';
import { ReplayEngine } from '../../sync/replay.js';
import type { Decision } from '../../sync/retry-policy.js';
import { routePolicy, type Buffering } from '../gateway/buffered.js';
import { deliver } from '../gateway/deliver.js';
import { ErpBreaker } from '../gateway/erp-breaker.js';
import type { GatewayMetrics } from '../gateway/metrics.js';
import { readBack } from '../gateway/read-back.js';
import type { RuntimeHolder } from '../gateway/runtime.js';
import type { PathView } from '../link/path-view.js';
import type { AppRuntime } from './runtime.js';
import type { Signals } from './signals.js';

/** After a live try fails retryably, buffered writes skip the live try this long. */
const LIVE_COOL_OFF_MS = 1000;
/** A replayed request of a route gone from the configuration. */
const DEFAULT_TIMEOUT_MS = 10_000;

export interface ReplayWiring {
  holder: RuntimeHolder<AppRuntime>;
  journal: Journal;
  pathViews(): PathView[];
  pathOutcome(path: string, reached: boolean): void;
  metrics: GatewayMetrics;
  signals: Signals;
  logger: Logger;
}

/** The replay engine, and what buffer routes need to journal and try live beside it. */
export function wireReplay(w: ReplayWiring): { replay: ReplayEngine; buffering: Buffering } {
  const { holder, journal, pathViews, pathOutcome, metrics, signals, logger } = w;
  const breaker = new ErpBreaker(LIVE_COOL_OFF_MS);
  const settings = () => holder.current.replay;
  const routeNamed = (name: string) => holder.current.loaded.config.routes.find((r) => r.name === name);

  const delivery = (entry: DueEntry) => {
    const rt = holder.acquire();
    const { config } = rt.loaded;
    const timeoutMs = config.routes.find((r) => r.name === entry.route)?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return deliver(entry, { upstreams: rt.upstreams, pathViews: pathViews(), classes: config.classes, pathOutcome, kind: 'replay', timeoutMs, maxResponseBytes: config.gateway.limits.maxJsonRpcBodyBytes }).finally(() =>
      holder.release(rt),
    );
  };

  /** Every attempt's decision, live or replay: metrics, the breaker, and the fleet's events. */
  const settled = (entry: EntryView, decision: Decision) => {
    metrics.replayAttempts.inc({ outcome: decision.action });
    if (decision.action === 'retry') breaker.failed(performance.now());
    else breaker.succeeded();
    const about = { receipt: entry.receipt, route: entry.route, cls: entry.cls, attempts: entry.attempts + 1 };
    if (decision.action === 'dead') signals.emit('dead', { ...about, reason: decision.reason });
    if (decision.action === 'unknown') signals.emit('unknown', { ...about, reason: decision.reason });
  };

  const replay = new ReplayEngine({
    journal,
    deliver: delivery,
    settings,
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
          pathOutcome,
          timeoutMs: route.timeoutMs,
          maxResponseBytes: config.gateway.limits.maxJsonRpcBodyBytes,
        });
      } finally {
        holder.release(rt);
      }
    },
    logger: logger.child({ component: 'replay' }),
    onSettled: settled,
  });
  const buffering: Buffering = { journal, replay, settings, pathViews, pathOutcome, breaker, settled, logger: logger.child({ component: 'journal' }) };
  return { replay, buffering };
}
