// What the fleet agent needs from the gateway it runs in, and nothing more: the
// agent is built and tested against this interface, with a fake in unit tests
// and the real gateway (src/app/fleet-host.ts) in integration tests. The agent
// defines it and the application implements it, so the agent imports nothing
// of the application.
import type { LoadedConfig } from '../../../edge-config/load.js';
import type { EntryState, EntryView } from '../../../sync/journal-store.js';
import type { PathStateChange } from '../../link/monitor.js';
import type { ExpiredDetails, NearExpiry, PathTelemetry, UnknownOutcome } from '../protocol.js';

/** What a reload did: the version now running and the changed settings only a restart applies, or why the file was refused. */
export type ReloadResult = { ok: true; version: string; restartNeeded: string[] } | { ok: false; error: string };

/** The parts of the admin API's /v1/status the agent reads; status() answers the whole object. */
export interface AgentStatus {
  configVersion: string;
  /** The same shape the protocol carries in telemetry. */
  paths: PathTelemetry[];
  /**
   * unknown: entries whose write may or may not have taken effect (see
   * UnknownOutcome). maxAgeS: pending entries older become dead letters;
   * expiryWarning: the fraction of it the oldest has passed (null: none).
   */
  queue: { pending: number; dead: number; unknown: number; oldestAgeS: number; bytes: number; maxBytes: number; maxAgeS: number; expiryWarning: number | null };
}

/** One series of storegw_requests_total. */
export interface RequestCount {
  labels: Partial<Record<'route' | 'class' | 'outcome', string | number>>;
  value: number;
}

export interface DeadLetter {
  receipt: string;
  route: string;
  cls: string;
  reason: string;
  attempts: number;
}

/**
 * A write to an ERP that does not dedupe was sent and its answer lost (or it
 * timed out): it may or may not have taken effect, so it is not replayed until
 * a read-back check or an operator settles it. The gateway reports exactly what
 * the `unknown_outcome` event carries: { receipt, route, cls, reason, attempts }.
 */
export type { UnknownOutcome };

/** What one journal housekeeping pass made dead letters for being too old: the `journal.expired` event's details. */
export type ExpiredEntries = ExpiredDetails;

/** The oldest pending entry passed a fraction of the max age (raised), or the backlog drained below them all (cleared). */
export interface ExpiryWarningChange extends NearExpiry {
  kind: 'raised' | 'cleared';
}

export interface AgentHost {
  /** The running configuration; read at every use, so a reload applies at once. */
  config(): LoadedConfig;
  /** The same object as the admin API's /v1/status. */
  status(): Promise<AgentStatus>;
  /** storegw_requests_total as it stands (monotonic counters). */
  requestCounts(): Promise<RequestCount[]>;
  /** Re-reads the configuration file, as SIGHUP does. */
  reload(): ReloadResult;
  /** The settings of `next` that differ from the running ones and only a restart applies. */
  restartNeeded(next: LoadedConfig): string[];
  journal: {
    list(state: EntryState, limit: number, afterSeq?: number): Promise<EntryView[]>;
    byReceipt(receipt: string): Promise<EntryView | undefined>;
    retryDead(receipt: string): Promise<boolean>;
    discard(receipt: string): Promise<boolean>;
    /** An operator's word on an unknown entry: it did not take effect (back to pending) or it did (delivered). True when it was unknown and is now settled. */
    settle(receipt: string, as: 'retry' | 'delivered', by: string): Promise<boolean>;
  };
  replay: {
    pause(): void;
    resume(): void;
    setRate(ratePerSec: number): void;
    /** The fleet hub's drain grant: at most this rate (never above the own one) for leaseMs, then the own rate again. */
    grant(ratePerSec: number, leaseMs: number): void;
    /** Look for due entries now (after a dead letter was put back, or an unknown entry settled). */
    wake(): void;
    status(): { paused: boolean; ratePerSec: number; inflight: number };
  };
  /** Each subscription returns its unsubscribe. */
  onLinkChange(listener: (change: PathStateChange) => void): () => void;
  onDeadLetter(listener: (dead: DeadLetter) => void): () => void;
  onUnknownOutcome(listener: (unknown: UnknownOutcome) => void): () => void;
  onExpired(listener: (expired: ExpiredEntries) => void): () => void;
  onExpiryWarning(listener: (change: ExpiryWarningChange) => void): () => void;
}
