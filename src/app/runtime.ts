// The whole process's settings from one loaded configuration, built before
// anything changes and swapped in as one object: the request path's runtime
// (routes, admission, upstream pools), the replay engine's settings and the
// admin token. The link monitor's settings are the configuration's own paths
// and link sections, handed to it at the swap (src/app/reload.ts).
import type { Logger } from 'pino';
import type { LoadedConfig } from '../../edge-config/load.js';
import type { ReplaySettings } from '../../sync/replay.js';
import { budgetWarnings, kernelShrinksWindows, windowStep } from '../gateway/receive-window.js';
import { buildRuntime, type GatewayRuntime } from '../gateway/runtime.js';
import type { SlotObserver } from '../gateway/slots.js';
import { readSecretFile } from '../util/secret-file.js';

export interface AppRuntime extends GatewayRuntime {
  /** Asked for on every replay step, so derived once here. */
  readonly replay: ReplaySettings;
  /** The admin API's bearer token; undefined when none is configured. */
  readonly adminToken: string | undefined;
}

/** Throws (with the file named) when a referenced file cannot be used; nothing running is touched. */
export function buildAppRuntime(loaded: LoadedConfig, slotObserver: SlotObserver, logger: Logger): AppRuntime {
  for (const warning of loaded.warnings) logger.warn({ file: loaded.file }, warning);
  const adminToken = readAdminToken(loaded, logger);
  const runtime = buildRuntime(loaded, slotObserver);
  const budgeted = [...runtime.upstreams.values()].filter((u) => u.bulk).map((u) => u.name);
  if (budgeted.length > 0) for (const warning of budgetWarnings({ shrinks: kernelShrinksWindows(), step: windowStep() })) logger.warn({ paths: budgeted }, warning);
  const { replay } = loaded.config;
  return {
    ...runtime,
    replay: { ...replay.backoff, ratePerSec: replay.ratePerSec, concurrency: replay.concurrency, maxServerErrorAttempts: replay.maxServerErrorAttempts },
    adminToken,
  };
}

function readAdminToken(loaded: LoadedConfig, logger: Logger): string | undefined {
  const file = loaded.config.gateway.admin.tokenFile;
  if (file === undefined) return undefined;
  const secret = readSecretFile(file);
  if (secret.warning) logger.warn(secret.warning);
  return secret.value;
}
