// One undici connection pool per uplink (two with a byte budget: bulk gets
// connections of its own, pipelined). Every upstream request the gateway makes goes
// through one of these, and each is bound to its path's configured ingress
// origin: there is no code path that sends anywhere else.
import { Pool } from 'undici';
import type { ClassName, ClassSettingsConfig, PathConfig } from '../../edge-config/schema.js';
import type { PathView } from '../link/path-view.js';
import { choosePath } from './path-choice.js';
import { resettingConnector } from './reset-on-abort.js';
import { BulkLane } from './bytes.js';
import { FifoScheduler, SlotScheduler } from './scheduler.js';
import { PathSlots, type SlotObserver } from './slots.js';

export interface Upstream {
  name: string;
  pool: Pool;
  /** The baseUrl's path without a trailing slash ('' for the root). */
  basePath: string;
  /** At most maxInFlight requests at once; who goes next is the scheduler's. */
  slots: PathSlots;
  /** The path's byte budget for bulk (`byteBudget.enabled`, priority queueing only), and bulk's own connections, whose receive window is the budget's (bytes.ts). */
  bulk: { lane: BulkLane; pool: Pool } | undefined;
}

/**
 * Bulk requests a bulk connection may carry at once. The byte budget sends
 * the next bulk request as the last answer's tail crosses the link: on a
 * connection of its own, that answer's first window came while the tail
 * was still queued, and a checkout met both (the lab's 512 kbit/s tunnel:
 * 2–4 packets ahead of it). Pipelined behind the answer being read, it
 * follows that answer in the same window, with no round trip between (checkout
 * p99 there 52–55 ms against 97, bulk goodput the same). undici pipelines
 * idempotent requests only, and sends a pipelined one again on a new
 * connection when the one ahead of it loses its own; the budget sends
 * nothing behind an answer of unknown length. The cost: the ERP
 * works on fewer bulk requests at once than there are bulk slots, which
 * matters only where the ERP, not the link, is slow; a budget is for thin links.
 */
export const BULK_PIPELINING = 2;

/** A quarter of the slots, at least one when there are two or more. */
export function reservedCritical(path: PathConfig): number {
  return path.reservedCritical ?? (path.maxInFlight > 1 ? Math.max(1, Math.floor(path.maxInFlight / 4)) : 0);
}

export function createUpstream(path: PathConfig, classes: Record<ClassName, ClassSettingsConfig>, observer: SlotObserver): Upstream {
  const url = new URL(path.baseUrl);
  const connect = resettingConnector({
    timeout: 5_000,
    ...(path.localAddress !== undefined && { localAddress: path.localAddress }),
  });
  const poolOver = (c: typeof connect, pipelining = 1) => new Pool(url.origin, { connections: path.maxInFlight, pipelining, keepAliveTimeout: 10_000, connect: c });
  const pick = <K extends keyof ClassSettingsConfig>(k: K) => Object.fromEntries(Object.entries(classes).map(([c, v]) => [c, v[k]])) as Record<ClassName, ClassSettingsConfig[K]>;
  const lane = path.queueing === 'priority' && path.byteBudget.enabled ? new BulkLane(path.byteBudget) : undefined;
  const scheduler = path.queueing === 'fifo' ? new FifoScheduler(path.maxInFlight) : slotScheduler(path, pick, lane);
  const slots = new PathSlots(scheduler, observer);
  const bulk = lane && { lane, pool: poolOver(lane.connector(connect), BULK_PIPELINING) };
  return { name: path.name, pool: poolOver(connect), basePath: url.pathname.replace(/\/+$/, ''), slots, bulk };
}

/** The connections a request of the class goes over. */
export function poolFor(upstream: Upstream, cls: ClassName): Pool {
  return cls === 'bulk' && upstream.bulk ? upstream.bulk.pool : upstream.pool;
}

function slotScheduler(path: PathConfig, pick: <K extends keyof ClassSettingsConfig>(k: K) => Record<ClassName, ClassSettingsConfig[K]>, bulk: BulkLane | undefined): SlotScheduler {
  const scheduler = new SlotScheduler({ maxInFlight: path.maxInFlight, reservedCritical: reservedCritical(path), priority: pick('priority'), degradedShare: pick('degradedShare') }, bulk);
  if (bulk) bulk.wake = () => scheduler.wake();
  return scheduler;
}

/**
 * The upstream of the best path for a class now, its scheduler told whether
 * that path is DEGRADED (which limits the shares of the lower classes).
 */
export function pickUpstream(cls: ClassName, views: readonly PathView[], upstreams: ReadonlyMap<string, Upstream>, classes: Record<ClassName, ClassSettingsConfig>): Upstream | undefined {
  const path = choosePath(cls, views, classes[cls].degradedShare);
  const upstream = path && upstreams.get(path.name);
  upstream?.slots.scheduler.setDegraded(path!.state === 'degraded');
  return upstream;
}
