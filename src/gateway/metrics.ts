// The gateway's Prometheus metrics. One registry per gateway instance, so
// several gateways in one process (tests, the demo) never share counters.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Outcome =
  | 'forwarded'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'unavailable'
  | 'no_route'
  | 'forbidden'
  | 'bad_request'
  | 'too_large';

export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'route' | 'class' | 'outcome'>;
  duration: Histogram<'class'>;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'storegw_' });
  return {
    registry,
    requests: new Counter({
      name: 'storegw_requests_total',
      help: 'Requests from the store LAN by route, class and outcome.',
      labelNames: ['route', 'class', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'storegw_request_duration_seconds',
      help: 'Time from request to response headers, by class.',
      labelNames: ['class'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}
