// A canary held by another hub replica: what it did, read each turn from what
// the replica holding it writes to the database (presence, the gateway's last
// report, how applying the desired config went, its events) and told to its
// CanaryWatch as the observations a local websocket would have given. A
// CanaryWatch takes the same observation twice without change, so each turn
// reads afresh instead of keeping track of what was told. Pure.
import type { Observation } from './rollout.js';
import type { DesiredRecord } from './store/desired-configs.js';
import type { GatewayRecord } from './store/registry.js';

export interface RemoteReading {
  /** A live replica holds the gateway's websocket. */
  online: boolean;
  gateway: Pick<GatewayRecord, 'configVersion' | 'paths'> | undefined;
  desired: Pick<DesiredRecord, 'version' | 'applyStatus' | 'applyError'> | undefined;
  /** Names of the gateway's events since the rollout started. */
  events: readonly string[];
}

export function remoteObservations(version: string, r: RemoteReading): Observation[] {
  if (!r.online) return [{ kind: 'offline' }];
  const seen: Observation[] = [{ kind: 'online' }];
  const d = r.desired?.version === version ? r.desired : undefined;
  // The holder records the gateway's answer to config.apply in the desired row.
  if (d?.applyStatus === 'applied') seen.push({ kind: 'answer', ok: true });
  else if (d?.applyStatus === 'failed') seen.push({ kind: 'answer', ok: false, error: d.applyError ?? 'refused' });
  else if (d?.applyStatus === 'sent' && d.applyError !== null) seen.push({ kind: 'no_answer' });
  if (r.gateway) seen.push({ kind: 'report', configVersion: r.gateway.configVersion, paths: r.gateway.paths });
  for (const event of r.events) seen.push({ kind: 'event', event });
  return seen;
}
