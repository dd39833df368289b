// The gateway's Prometheus metrics. One registry per gateway instance, so
// several gateways in one process (tests, the demo) never share counters.
import { Counter, Gauge, Histogram, type LabelValues, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackupStatus } from '../../sync/journal-backup-schedule.js';
import type { JournalStats } from '../../sync/journal-store.js';
import type { PathStatus } from '../link/monitor.js';
import type { LinkState } from '../link/path-view.js';
import { batched, type BatchedMetric } from './metric-batch.js';

export type Outcome =
  | 'forwarded'
  | 'stale'
  | 'delivered'
  | 'buffered'
  | 'replayed'
  | 'refused'
  | 'buffer_full'
  | 'journal_error'
  | 'receipt'
  | 'status_page'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'unavailable'
  | 'no_route'
  | 'forbidden'
  | 'bad_request'
  | 'too_large'
  | 'overloaded';

export interface GatewayMetrics {
  registry: Registry;
  /** Recorded on every request: batched (metric-batch.ts), like `duration` and `schedulerWait`. */
  requests: BatchedMetric<Counter<'route' | 'class' | 'outcome'>, 'route' | 'class' | 'outcome'>;
  duration: BatchedMetric<Histogram<'class'>, 'class'>;
  replayAttempts: Counter<'outcome'>;
  cacheAnswers: Counter<'route' | 'result'>;
  schedulerWait: BatchedMetric<Histogram<'class'>, 'class'>;
  shed: Counter<'class' | 'kind'>;
  websocketSessions: Gauge<'path'>;
  websocketUpgrades: Counter<'route' | 'outcome'>;
  websocketBytes: Counter<'path' | 'direction'>;
  journalBackupFailures: Counter;
}

const observe = (histogram: Histogram<'class'>, labels: LabelValues<'class'>, seconds: number) => histogram.observe(labels, seconds);

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'storegw_' });
  return {
    registry,
    requests: batched(
      (collect) =>
        new Counter({
          name: 'storegw_requests_total',
          help: 'Requests from the store LAN by route, class and outcome.',
          labelNames: ['route', 'class', 'outcome'],
          registers: [registry],
          collect,
        }),
      (counter, labels, by) => counter.inc(labels, by),
    ),
    duration: batched(
      (collect) =>
        new Histogram({
          name: 'storegw_request_duration_seconds',
          help: 'Time from request to response headers, by class.',
          labelNames: ['class'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers: [registry],
          collect,
        }),
      observe,
    ),
    replayAttempts: new Counter({
      name: 'storegw_replay_attempts_total',
      help: 'Delivery attempts of journaled requests (live tries and replay) by outcome: delivered, retry, dead, unknown.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    cacheAnswers: new Counter({
      name: 'storegw_cache_answers_total',
      help: 'Answers of cache routes by what the read cache did: stale (answered from it), miss (not in it; a live answer it may keep), bypass (not for it: other methods, answers it may not keep).',
      labelNames: ['route', 'result'],
      registers: [registry],
    }),
    schedulerWait: batched(
      (collect) =>
        new Histogram({
          name: 'storegw_scheduler_wait_seconds',
          help: 'Time a request waited for a slot on its path, by class.',
          labelNames: ['class'],
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [registry],
          collect,
        }),
      observe,
    ),
    shed: new Counter({
      name: 'storegw_scheduler_shed_total',
      help: 'Requests that got no slot within their class\'s maxQueueMs (journaled when their route buffers, else 503 overloaded), by class and kind (live, replay).',
      labelNames: ['class', 'kind'],
      registers: [registry],
    }),
    websocketSessions: new Gauge({
      name: 'storegw_websocket_sessions',
      help: 'WebSocket sessions (the Odoo bus) relayed now, by the path they ride.',
      labelNames: ['path'],
      registers: [registry],
    }),
    websocketUpgrades: new Counter({
      name: 'storegw_websocket_upgrades_total',
      help: 'WebSocket upgrades by route and outcome: accepted, or why not (forbidden, bad_request, no_route, not_websocket_route, over_capacity, draining, unavailable, upstream_refused, upstream_timeout, upstream_error, client_gone).',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    }),
    websocketBytes: new Counter({
      name: 'storegw_websocket_bytes_total',
      help: 'Bytes relayed on WebSocket sessions (frames as they are, headers included), by path and direction: to_upstream, to_client.',
      labelNames: ['path', 'direction'],
      registers: [registry],
    }),
    journalBackupFailures: new Counter({
      name: 'storegw_journal_backup_failures_total',
      help: 'Scheduled journal backups (buffer.backup) that could not be taken: the folder is missing or not writable, the disk is full.',
      registers: [registry],
    }),
  };
}

/** Requests waiting for a slot, per path and class, read from the current runtime's schedulers. */
export function registerSchedulerGauges(registry: Registry, depths: () => { path: string; cls: string; depth: number }[]): void {
  new Gauge({
    name: 'storegw_scheduler_queue_depth',
    help: 'Requests waiting for a slot on a path, by class.',
    labelNames: ['path', 'class'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of depths()) this.set({ path: d.path, class: d.cls }, d.depth);
    },
  });
}

/** Journal gauges, read from the journal (and the max age from the running configuration) when Prometheus scrapes. */
export function registerJournalGauges(registry: Registry, stats: () => Promise<JournalStats>, maxAgeS: () => number): void {
  let last: Promise<JournalStats> | undefined;
  // One read serves the three gauges of a scrape.
  const read = () => (last ??= stats().finally(() => setImmediate(() => (last = undefined))));
  const gauge = (name: string, help: string, pick: (s: JournalStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(pick(await read()));
      },
    });
  gauge('storegw_journal_pending', 'Journaled requests waiting for delivery.', (s) => s.pending);
  gauge('storegw_journal_dead', 'Dead letters: journaled requests given up, waiting for an operator.', (s) => s.dead);
  gauge(
    'storegw_journal_unknown',
    'Journaled writes that may have reached an ERP that does not dedupe, answer lost: held for a read-back check or an operator, never sent again blindly.',
    (s) => s.unknown,
  );
  gauge('storegw_journal_oldest_age_seconds', 'Age of the oldest pending journaled request.', (s) => s.oldestAgeS);
  new Gauge({
    name: 'storegw_journal_max_age_seconds',
    help: 'buffer.maxAgeHours in seconds: pending journaled requests older become dead letters (expired). Alert on storegw_journal_oldest_age_seconds as a share of it.',
    registers: [registry],
    collect() {
      this.set(maxAgeS());
    },
  });
  gauge('storegw_journal_bytes', 'Bytes held by pending and dead journal entries (counted against buffer.maxBytes).', (s) => s.bytes);
}

/** The scheduled backup's gauges, present only while buffer.backup is configured. */
export function registerJournalBackupGauges(registry: Registry, status: () => BackupStatus | undefined): void {
  const gauge = (name: string, help: string, pick: (s: BackupStatus) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        const s = status();
        if (s) this.set(pick(s));
      },
    });
  gauge(
    'storegw_journal_backup_age_seconds',
    'Seconds since the last scheduled journal backup (buffer.backup) was completed; with none yet, since backups began.',
    (s) => s.ageS,
  );
  gauge('storegw_journal_backup_interval_seconds', 'The scheduled journal backup interval (buffer.backup.everyMinutes), for alerting on the age.', (s) => s.everyMinutes * 60);
}

/**
 * 2, 1, 0 as they always were; UNKNOWN is -1, below DOWN's 0 so that every
 * series keeps its path (a dashboard sees the path from the start) while an
 * alert on `== 0` (down) stays silent for a path nothing has judged yet.
 */
const STATE_VALUE: Record<LinkState, number> = { up: 2, degraded: 1, down: 0, unknown: -1 };

/** Link gauges per path, read from the link monitor when Prometheus scrapes. */
export function registerLinkGauges(registry: Registry, status: () => PathStatus[]): void {
  const gauge = (name: string, help: string, pick: (p: PathStatus) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['path'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of status()) {
          const v = pick(p);
          if (v !== undefined) this.set({ path: p.name }, v);
        }
      },
    });
  gauge('storegw_link_state', 'Link state per path: 2 up, 1 degraded, 0 down, -1 unknown (no probe has settled it yet, or the path has no probe nor WireGuard interface).', (p) => STATE_VALUE[p.state]);
  gauge('storegw_link_rtt_seconds', 'Probe round-trip time per path (EWMA).', (p) => (p.rttMs === undefined ? undefined : p.rttMs / 1000));
  gauge('storegw_link_jitter_seconds', 'Probe jitter per path (RFC 3550).', (p) => p.jitterMs / 1000);
  gauge('storegw_link_loss_ratio', 'Probe loss per path over the last 20 probes.', (p) => p.lossPct / 100);
  gauge('storegw_link_score', 'Link score per path, 0-100.', (p) => p.score);
  gauge('storegw_wireguard_handshake_age_seconds', 'Seconds since the latest WireGuard handshake of the path\'s interface.', (p) => p.wireguard?.handshakeAgeS);
  new Gauge({
    name: 'storegw_link_throughput_bytes_per_second',
    help: 'WireGuard transfer rate per path, from the interface counters.',
    labelNames: ['path', 'direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of status()) {
        if (p.wireguard?.rxBps !== undefined) this.set({ path: p.name, direction: 'rx' }, p.wireguard.rxBps);
        if (p.wireguard?.txBps !== undefined) this.set({ path: p.name, direction: 'tx' }, p.wireguard.txBps);
      }
    },
  });
}
