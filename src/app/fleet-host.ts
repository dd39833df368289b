// The gateway as the fleet agent sees it (AgentHost, which the agent defines):
// the running configuration, status, request counts, reload, the journal and
// the replay engine, and subscriptions to the process's signals.
import type { LoadedConfig } from '../../edge-config/load.js';
import type { Journal } from '../../sync/journal.js';
import type { ReplayEngine } from '../../sync/replay.js';
import type { AgentHost, AgentStatus, ReloadResult } from '../fleet/agent/host.js';
import type { GatewayMetrics } from '../gateway/metrics.js';
import type { RuntimeHolder } from '../gateway/runtime.js';
import { restartSettings } from './reload.js';
import type { Signals } from './signals.js';

export interface HostParts {
  holder: RuntimeHolder;
  status(): Promise<AgentStatus>;
  metrics: GatewayMetrics;
  reload(): ReloadResult;
  journal: Journal;
  replay: ReplayEngine;
  signals: Signals;
}

export function fleetHost(p: HostParts): AgentHost {
  const { signals } = p;
  return {
    config: () => p.holder.current.loaded,
    status: p.status,
    requestCounts: async () => (await p.metrics.requests.metric.get()).values,
    reload: p.reload,
    restartNeeded: (next: LoadedConfig) => restartSettings(p.holder.current.loaded, next),
    journal: p.journal,
    replay: p.replay,
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
    onExpired: (listener) => {
      signals.on('expired', listener);
      return () => signals.off('expired', listener);
    },
    onExpiryWarning: (listener) => {
      signals.on('expiry', listener);
      return () => signals.off('expiry', listener);
    },
  };
}
