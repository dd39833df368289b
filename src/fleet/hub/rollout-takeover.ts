// A rollout whose hub replica died, taken over by another: what is left to do,
// from its stored state and what the database holds. In the canary stage the
// stage starts again (the canaries' desired config is already set, so a canary
// that took it is in sync at once); in the rolling stage the gateways whose
// desired config is already the rollout's were reached by the replica that
// died and are counted from their desired rows, and the others are still to
// do. Pure.
import type { ApplyStatus } from './store/desired-configs.js';

export interface RestCounts {
  total: number;
  applied: number;
  pending: number;
  failed: number;
  inFlight: number;
  untouched: number;
}

export function restAfterTakeover(
  stage: 'canary' | 'rolling',
  version: string,
  before: Pick<RestCounts, 'failed'>,
  rest: readonly string[],
  desired: ReadonlyMap<string, { version: string; applyStatus: ApplyStatus }>,
): { queue: string[]; counts: RestCounts } {
  if (stage === 'canary') return { queue: [...rest], counts: { total: rest.length, applied: 0, pending: 0, failed: 0, inFlight: 0, untouched: rest.length } };
  const reached = rest.filter((id) => desired.get(id)?.version === version);
  const queue = rest.filter((id) => desired.get(id)?.version !== version);
  const applied = reached.filter((id) => desired.get(id)!.applyStatus === 'applied').length;
  const failed = Math.min(before.failed, reached.length - applied);
  return { queue, counts: { total: rest.length, applied, pending: reached.length - applied - failed, failed, inFlight: 0, untouched: queue.length } };
}
