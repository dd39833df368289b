// The admin API's /v1/status, which the fleet agent also reads (AgentStatus):
// the store, the running configuration's version, each path's state and
// quality, the journal's queue and the replay engine's state. And the little
// of it the LAN's staff page shows (staffFacts).
import type { Journal } from '../../sync/journal.js';
import type { BackupStatus } from '../../sync/journal-backup-schedule.js';
import type { ReplayEngine } from '../../sync/replay.js';
import type { RuntimeHolder } from '../gateway/runtime.js';
import type { StaffFacts } from '../gateway/staff-view.js';
import type { LinkMonitor, PathStatus } from '../link/monitor.js';

export interface StatusSources {
  holder: RuntimeHolder;
  monitor: LinkMonitor;
  journal: Journal;
  replay: ReplayEngine;
  backup: () => BackupStatus | undefined;
  /** The expiry warning in force (housekeeping's), null without one. */
  expiryWarning: () => number | null;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

export async function gatewayStatus({ holder, monitor, journal, replay, backup, expiryWarning }: StatusSources) {
  const { config, version } = holder.current.loaded;
  const q = await journal.stats();
  const r = replay.status();
  return {
    store: { id: config.store.id, region: config.store.region },
    configVersion: version,
    paths: monitor.status().map(pathStatus),
    // maxAgeS: pending entries older become dead letters; expiryWarning: the fraction of it the oldest has passed (buffer.expiryWarnings).
    queue: {
      pending: q.pending,
      dead: q.dead,
      unknown: q.unknown,
      delivered: q.delivered,
      oldestAgeS: Math.round(q.oldestAgeS),
      maxAgeS: config.buffer.maxAgeHours * 3600,
      expiryWarning: expiryWarning(),
      bytes: q.bytes,
      maxBytes: q.maxBytes,
    },
    // ratePerSec: the rate in force; ownRatePerSec: the configured or operator-set one a fleet drain grant may hold it below.
    replay: { paused: r.paused, ratePerSec: r.ratePerSec, ownRatePerSec: r.ownRatePerSec, grant: r.grant, inflight: r.inflight },
    journalBackup: journalBackup(backup()),
  };
}

/** For the staff page on the LAN port: states and counts only, nothing of addresses, quality figures or replay. */
export async function staffFacts({ holder, monitor, journal }: Pick<StatusSources, 'holder' | 'monitor' | 'journal'>): Promise<StaffFacts> {
  // A journal that cannot be read (its worker gone, its disk failing) is IT's to see in /v1/status and the
  // logs; the staff page still tells whether the store is online.
  const q = await journal.stats().catch(() => null);
  return {
    store: holder.current.loaded.config.store.id,
    paths: monitor.status().map((p) => ({ name: p.name, state: p.state, monitored: p.monitored, stateAgeS: p.stateAgeS })),
    queue: q && { pending: q.pending, unknown: q.unknown, dead: q.dead, oldestAgeS: q.oldestAgeS },
  };
}

/** The scheduled backup (null when buffer.backup is not set); lastAt as an ISO time. */
function journalBackup(b: BackupStatus | undefined) {
  if (!b) return null;
  return { path: b.path, everyMinutes: b.everyMinutes, lastAt: b.lastAt === null ? null : new Date(b.lastAt).toISOString(), ageS: Math.round(b.ageS), lastError: b.lastError, failures: b.failures };
}

/** Numbers rounded for reading; null where there is no measurement yet. */
function pathStatus(p: PathStatus) {
  return {
    name: p.name,
    state: p.state,
    score: p.score,
    rttMs: p.rttMs === undefined ? null : round1(p.rttMs),
    rttP50Ms: p.rttP50Ms === undefined ? null : round1(p.rttP50Ms),
    rttP95Ms: p.rttP95Ms === undefined ? null : round1(p.rttP95Ms),
    jitterMs: round1(p.jitterMs),
    lossPct: round1(p.lossPct),
    monitored: p.monitored,
    ...(p.wireguard && {
      handshakeAgeS: p.wireguard.handshakeAgeS === undefined ? null : Math.round(p.wireguard.handshakeAgeS),
      rxBps: p.wireguard.rxBps === undefined ? null : Math.round(p.wireguard.rxBps),
      txBps: p.wireguard.txBps === undefined ? null : Math.round(p.wireguard.txBps),
      ...(p.wireguard.error !== undefined && { wireguardError: p.wireguard.error }),
    }),
  };
}
