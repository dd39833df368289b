// What every part of the request path needs from the process around it: the
// running configuration, the links' views, a place to report what a request
// said of its path. Its own module so that the ingress and the parts it
// hands requests to (live tries, WebSockets) share it without importing each other.
import type { Logger } from 'pino';
import type { PathView } from '../link/path-view.js';
import type { GatewayMetrics } from './metrics.js';
import type { RuntimeHolder } from './runtime.js';

export interface RequestPathDeps {
  runtime: RuntimeHolder;
  logger: Logger;
  metrics: GatewayMetrics;
  /** Current view of every uplink: state and score, for path choice. */
  pathViews(): readonly PathView[];
  /** Reports whether a path itself carried a request (for the link monitor). */
  pathOutcome(path: string, reached: boolean): void;
  /** True once shutdown began: answers then close their connection so clients reconnect elsewhere. */
  draining(): boolean;
}
