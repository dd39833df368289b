// Which gateways a list filter, a fleet command or a rollout means, and the
// one-word state ops sort the fleet by. Pure.

export const STATE_FILTERS = ['online', 'offline', 'up', 'degraded', 'down'] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];
export type GatewayState = 'up' | 'degraded' | 'down' | 'offline';

export interface Selector {
  region?: string | undefined;
  tag?: string | undefined;
}

/** up: every path up; down: none carries traffic; degraded: in between; offline: not connected to the hub. */
export function gatewayState(online: boolean, paths: readonly { state: 'up' | 'degraded' | 'down' }[]): GatewayState {
  if (!online) return 'offline';
  if (paths.length > 0 && paths.every((p) => p.state === 'up')) return 'up';
  return paths.some((p) => p.state !== 'down') ? 'degraded' : 'down';
}

/** Region and tag both apply when both are given; neither means every gateway. */
export function selects(sel: Selector, g: { region: string; tags: readonly string[] }): boolean {
  return (sel.region === undefined || g.region === sel.region) && (sel.tag === undefined || g.tags.includes(sel.tag));
}

export function stateMatches(filter: StateFilter, state: GatewayState): boolean {
  return filter === 'online' ? state !== 'offline' : state === filter;
}
