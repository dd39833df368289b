// One undici connection pool per uplink. Every upstream request the gateway
// makes goes through one of these, and each is bound to its path's configured
// ingress origin: there is no code path that sends anywhere else.
import { Pool } from 'undici';
import type { PathConfig } from '../../edge-config/schema.js';

export interface Upstream {
  name: string;
  pool: Pool;
  /** The baseUrl's path without a trailing slash ('' for the root). */
  basePath: string;
}

export function createUpstream(path: PathConfig): Upstream {
  const url = new URL(path.baseUrl);
  const pool = new Pool(url.origin, {
    connections: path.maxInFlight,
    pipelining: 1,
    keepAliveTimeout: 10_000,
    connect: {
      timeout: 5_000,
      ...(path.localAddress !== undefined && { localAddress: path.localAddress }),
    },
  });
  return { name: path.name, pool, basePath: url.pathname.replace(/\/+$/, '') };
}
