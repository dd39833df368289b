// Everything derived from one loaded configuration: the route table, the
// admission rules and the upstream pools. A reload builds a new runtime and
// swaps it in one assignment; requests keep the runtime they started with, and
// a retired runtime's pools close once its last request has finished.
import { readFileSync } from 'node:fs';
import type { LoadedConfig } from '../../edge-config/load.js';
import { buildAdmission, parseDeviceTokens, type Admission } from './admission.js';
import { compileRoutes, type RouteTable } from './classify.js';
import type { SlotObserver } from './slots.js';
import { createUpstream, type Upstream } from './upstreams.js';

export interface GatewayRuntime {
  readonly loaded: LoadedConfig;
  readonly routes: RouteTable;
  readonly admission: Admission;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  inflight: number;
  retired: boolean;
}

/** Builds a runtime; throws (with the file named) when a referenced file cannot be used. */
export function buildRuntime(loaded: LoadedConfig, slotObserver: SlotObserver): GatewayRuntime {
  const { config } = loaded;
  let deviceTokens: Map<string, string> | undefined;
  const tokensFile = config.gateway.devices?.tokensFile;
  if (tokensFile !== undefined) {
    try {
      deviceTokens = parseDeviceTokens(readFileSync(tokensFile, 'utf8'));
    } catch (e) {
      throw new Error(`${tokensFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return {
    loaded,
    routes: compileRoutes(config.routes),
    admission: buildAdmission(config.gateway.devices?.allowCidrs, deviceTokens),
    upstreams: new Map(config.paths.map((p) => [p.name, createUpstream(p, config.classes, slotObserver)])),
    inflight: 0,
    retired: false,
  };
}

async function closeRuntime(rt: GatewayRuntime): Promise<void> {
  await Promise.allSettled([...rt.upstreams.values()].flatMap((u) => [u.pool.close(), u.bulk?.pool.close()]));
}

/** `R`: the request path's runtime, or one that carries the rest of the process's settings with it (src/app/runtime.ts). */
export class RuntimeHolder<R extends GatewayRuntime = GatewayRuntime> {
  #current: R;

  constructor(initial: R) {
    this.#current = initial;
  }

  get current(): R {
    return this.#current;
  }

  /** The runtime a new request uses; pair with release(). */
  acquire(): R {
    const rt = this.#current;
    rt.inflight++;
    return rt;
  }

  release(rt: R): void {
    rt.inflight--;
    if (rt.retired && rt.inflight === 0) void closeRuntime(rt);
  }

  swap(next: R): void {
    const old = this.#current;
    this.#current = next;
    old.retired = true;
    if (old.inflight === 0) void closeRuntime(old);
  }

  async close(): Promise<void> {
    this.#current.retired = true;
    await closeRuntime(this.#current);
  }
}
