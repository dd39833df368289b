// What the link layer says of each uplink, as the data path reads it: the
// monitor produces these, path choice (src/gateway) consumes them.
import type { ClassName } from '../../edge-config/schema.js';

/** unknown: no probe has settled the path yet (or nothing ever can: a path with neither a probe nor a WireGuard interface). */
export type LinkState = 'unknown' | 'up' | 'degraded' | 'down';

export interface PathView {
  name: string;
  allowClasses: readonly ClassName[];
  metered: boolean;
  state: LinkState;
  score: number;
}
