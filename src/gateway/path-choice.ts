// Which uplink carries a request of a given class. Pure.
import type { ClassName } from '../../edge-config/schema.js';
import type { LinkState, PathView } from '../link/path-view.js';

/**
 * UNKNOWN (not yet probed, or never probed at all) is tried: refusing it would
 * refuse every request of a store in its first moments, and a path nothing
 * watches would carry nothing, ever. It comes after UP, since a probe has
 * vouched for an UP path and for an UNKNOWN one nothing has; and before
 * DEGRADED, since a probe has found fault with a DEGRADED path and with an
 * UNKNOWN one nothing has. On a probed path UNKNOWN lasts until its first
 * probe settles: one round trip on a working line, about a second on a dead
 * one.
 */
const STATE_RANK: Record<LinkState, number> = { up: 0, unknown: 1, degraded: 2, down: 3 };

/**
 * Among the paths that allow `cls` and are not DOWN: UP, then UNKNOWN, then DEGRADED, then
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
