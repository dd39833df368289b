// Which uplink carries a request of a given class. Pure.
import type { ClassName } from '../../edge-config/schema.js';
import type { LinkState, PathView } from '../link/path-view.js';

const STATE_RANK: Record<LinkState, number> = { up: 0, degraded: 1, down: 2 };

/**
 * Among the paths that allow `cls` and are not DOWN: UP before DEGRADED, then
 * unmetered before metered (a metered LTE backup is not worth paying for over a
 * fiber that is just as UP, whatever a point or two of score says), then the
 * higher score, then configuration order.
 * A class whose `degradedShare` is 0 is paused on DEGRADED paths: it gets none.
 */
export function choosePath(cls: ClassName, paths: readonly PathView[], degradedShare = 1): PathView | undefined {
  let best: PathView | undefined;
  for (const p of paths) {
    if (p.state === 'down' || !p.allowClasses.includes(cls)) continue;
    if (p.state === 'degraded' && degradedShare <= 0) continue;
    if (!best || better(p, best)) best = p;
  }
  return best;
}

function better(a: PathView, b: PathView): boolean {
  if (STATE_RANK[a.state] !== STATE_RANK[b.state]) return STATE_RANK[a.state] < STATE_RANK[b.state];
  if (a.metered !== b.metered) return !a.metered;
  return a.score > b.score;
}
