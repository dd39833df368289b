// Which gateways a list filter, a fleet command or a rollout means, and the
// one-word state ops sort the fleet by. Pure.
import type { PathTelemetry } from '../protocol.js';

export const STATE_FILTERS = ['online', 'offline', 'up', 'degraded', 'down'] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];
export type GatewayState = 'up' | 'degraded' | 'down' | 'offline';

export interface Selector {
  region?: string | undefined;
  tag?: string | undefined;
}

/**
 * up: every path the gateway has judged is up (a path it has not judged yet,
 * or cannot judge — no probe, no WireGuard — is no fault of the store); down:
 * none carries traffic; degraded: in between, and while no path is judged;
 * offline: not connected to the hub.
 */
export function gatewayState(online: boolean, paths: readonly Pick<PathTelemetry, 'state'>[]): GatewayState {
  if (!online) return 'offline';
  const judged = paths.filter((p) => p.state !== 'unknown');
  if (judged.length > 0 && judged.every((p) => p.state === 'up')) return 'up';
  return paths.some((p) => p.state !== 'down') ? 'degraded' : 'down';
}

/** Region and tag both apply when both are given; neither means every gateway. */
export function selects(sel: Selector, g: { region: string; tags: readonly string[] }): boolean {
  return (sel.region === undefined || g.region === sel.region) && (sel.tag === undefined || g.tags.includes(sel.tag));
}

export function stateMatches(filter: StateFilter, state: GatewayState): boolean {
  return filter === 'online' ? state !== 'offline' : state === filter;
}
