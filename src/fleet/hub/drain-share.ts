// How a region's drain budget is split between its connected stores: a floor
// for every store, so none starves, and the rest to the stores with a backlog
// in proportion to the age of their oldest entry, so the stores that waited
// longest catch up first. Shares are rounded down onto a coarse grid: a small
// change in a backlog then leaves most shares as they were (no grant message),
// and rounding down keeps the sum within the budget. Pure.

export interface StoreBacklog {
  id: string;
  pending: number;
  oldestAgeS: number;
}

/** The part of the budget split evenly between all stores, backlog or not. */
export const FLOOR_SHARE = 0.2;
/** Shares are powers of this step (5% apart), rounded down. */
const GRID_STEP = 1.05;
/** Below this a share is 0: a store's token bucket would never fill at a few entries an hour. */
const SMALLEST_SHARE = 0.01;
/** A backlog just begun still counts: its weight is at least this many seconds. */
const MIN_AGE_S = 1;

/** The largest grid value not above `rate`. */
export function onGrid(rate: number): number {
  if (!(rate >= SMALLEST_SHARE)) return 0;
  const down = GRID_STEP ** Math.floor(Math.log(rate) / Math.log(GRID_STEP) + 1e-9);
  // The logarithm's rounding may land one step high.
  const share = down > rate ? down / GRID_STEP : down;
  return Math.floor(share * 1000) / 1000;
}

/**
 * Each store's share of `budgetPerSec` (entries/s). `reservedPerSec` is held by
 * grants that are still running and cannot be taken back (a store that went
 * away with its lease): it is not handed out again until they expire.
 */
export function shareBudget(budgetPerSec: number, stores: readonly StoreBacklog[], reservedPerSec = 0): Map<string, number> {
  const shares = new Map<string, number>();
  if (stores.length === 0) return shares;
  const available = Math.max(0, budgetPerSec - reservedPerSec);
  const backlogged = stores.filter((s) => s.pending > 0);
  // Nothing to drain anywhere: an even split, so a store whose backlog starts now is still within the budget.
  if (backlogged.length === 0) {
    for (const s of stores) shares.set(s.id, onGrid(available / stores.length));
    return shares;
  }
  const floor = (available * FLOOR_SHARE) / stores.length;
  const rest = available - floor * stores.length;
  const weight = (s: StoreBacklog) => Math.max(MIN_AGE_S, s.oldestAgeS);
  const total = backlogged.reduce((sum, s) => sum + weight(s), 0);
  for (const s of stores) shares.set(s.id, onGrid(floor + (s.pending > 0 ? (rest * weight(s)) / total : 0)));
  return shares;
}
