// What the link layer says of each uplink, as the data path reads it: the
// monitor produces these, path choice (src/gateway) consumes them.
import type { ClassName } from '../../edge-config/schema.js';

export type LinkState = 'up' | 'degraded' | 'down';

export interface PathView {
  name: string;
  allowClasses: readonly ClassName[];
  metered: boolean;
  state: LinkState;
  score: number;
}
