// Reload: read the configuration file again, build everything it implies
// before touching anything running, then swap it in as one runtime object.
// What cannot read its settings from the runtime at each use (the link
// monitor's probes, the replay rate's token bucket, the fleet agent's
// connection) is handed the new runtime right after the swap.
import type { Logger } from 'pino';
import { loadGatewayConfig, type LoadedConfig } from '../../edge-config/load.js';
import type { ReloadResult } from '../fleet/agent/host.js';
import type { RuntimeHolder } from '../gateway/runtime.js';
import type { AppRuntime } from './runtime.js';

export interface Reloading {
  holder: RuntimeHolder<AppRuntime>;
  /** Builds the runtime of a loaded configuration; throws when it cannot be had. */
  build(loaded: LoadedConfig): AppRuntime;
  /** Hands the swapped-in runtime to what keeps state across it; answers the settings only a restart applies. */
  applied(next: AppRuntime, before: AppRuntime): string[];
  logger: Logger;
}

/** Keeps the running configuration when the new one is invalid or a file it names cannot be used. */
export function reload(r: Reloading): ReloadResult {
  const before = r.holder.current;
  const { file, version } = before.loaded;
  let next: AppRuntime;
  try {
    next = r.build(loadGatewayConfig(file));
  } catch (e) {
    r.logger.error({ file, keeping: version, err: e }, 'configuration reload refused; keeping the running configuration');
    return { ok: false, error: (e as Error).message };
  }
  r.holder.swap(next);
  const restartNeeded = [...restartSettings(before.loaded, next.loaded), ...r.applied(next, before)];
  r.logger.info({ version: next.loaded.version, previous: version, restartNeeded }, 'configuration reloaded');
  return { ok: true, version: next.loaded.version, restartNeeded };
}

/** The process's own settings of `b` that differ from `a`'s: listening sockets and open files, which only a restart changes. */
export function restartSettings(a: LoadedConfig, b: LoadedConfig): string[] {
  const changed: string[] = [];
  const ga = a.config.gateway;
  const gb = b.config.gateway;
  if (ga.listen.host !== gb.listen.host || ga.listen.port !== gb.listen.port) changed.push('gateway.listen');
  if (ga.admin.host !== gb.admin.host || ga.admin.port !== gb.admin.port) changed.push('gateway.admin');
  if (a.config.buffer.path !== b.config.buffer.path || a.config.buffer.maxBytes !== b.config.buffer.maxBytes) changed.push('buffer');
  if (a.config.cache.path !== b.config.cache.path || a.config.cache.maxBytes !== b.config.cache.maxBytes) changed.push('cache');
  return changed;
}
