// The hub's side of the region drain budgets (hub config regions.<name>.
// drainBudgetPerSec): it knows each connected store's backlog from its
// telemetry, shares the region's budget out (drain-share.ts) whenever a store
// joins, reports or leaves, and sends each store its share as a leased grant,
// renewed well before the lease ends. What a store that went away still holds
// is not handed out again until its lease has run out: the stores' grants
// never add up to more than the budget.
//
// With several hub replicas each shares out the part of the budget that its
// stores are of the region's connected stores (the others' counted from
// presence, read each second): the replicas' grants add up to the budget
// without a replica having to know the others' backlogs. A replica whose
// stores have no backlog leaves its part unused: slower, never above.
import { shareBudget, type StoreBacklog } from './drain-share.js';

export interface DrainBudgetDeps {
  /** Regions with a budget; stores of other regions are left to their own rate. */
  budgets: Readonly<Record<string, { drainBudgetPerSec: number }>>;
  leaseMs: number;
  /** Sends a grant to the gateway's live connection; false when it could not be sent. */
  send(gatewayId: string, ratePerSec: number, leaseMs: number): boolean;
  /** Per region, the stores other live hub replicas hold (PostgreSQL); absent on one replica. */
  heldElsewhere?: () => ReadonlyMap<string, number>;
  now?: () => number;
}

/** A region's budget and what is made of it, as the ops API shows it. */
export interface RegionDrainView {
  region: string;
  budgetPerSec: number;
  /**
   * With several hub replicas: the part of the budget this one shares out. The
   * other figures are then this replica's stores' too.
   */
  budgetHerePerSec?: number;
  /** The grants in force, a departed store's until its lease ends: never above the budget. */
  grantedPerSec: number;
  /** How fast the connected stores' backlogs shrink, from their last two telemetry samples. */
  drainingPerSec: number;
  stores: number;
  backlogged: number;
  pending: number;
}

interface Member {
  region: string;
  connected: boolean;
  pending: number;
  oldestAgeS: number;
  /** The previous telemetry sample, for the drain rate. */
  sample: { pending: number; ts: number } | undefined;
  drainPerSec: number;
  grant: { ratePerSec: number; expiresAt: number } | undefined;
}

/**
 * A grant's lease runs from when the gateway received it, a little after the
 * hub sent it: a departed store's grant is counted this much longer.
 */
const LEASE_MARGIN_MS = 1000;

const round1 = (v: number) => Math.round(v * 10) / 10;

export class DrainBudgets {
  readonly #d: DrainBudgetDeps;
  readonly #now: () => number;
  readonly #members = new Map<string, Member>();

  constructor(deps: DrainBudgetDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** How often tick() should run: grants are renewed once less than half their lease is left. */
  get tickMs(): number {
    return Math.floor(this.#d.leaseMs / 4);
  }

  /** A gateway said hello: its backlog is unknown (none) until its first telemetry, sent right after. */
  joined(id: string, region: string): void {
    const before = this.#members.get(id);
    this.#members.set(id, { region, connected: true, pending: 0, oldestAgeS: 0, sample: undefined, drainPerSec: 0, grant: before?.grant });
    if (before && before.region !== region) this.#rebalance(before.region);
    this.#rebalance(region);
  }

  /** A gateway's telemetry (not a spooled one: that is history, not its backlog now). */
  backlog(id: string, queue: { pending: number; oldestAgeS: number }, ts: number): void {
    const m = this.#members.get(id);
    if (!m?.connected) return;
    if (m.sample && ts > m.sample.ts) m.drainPerSec = Math.max(0, (m.sample.pending - queue.pending) / ((ts - m.sample.ts) / 1000));
    m.sample = { pending: queue.pending, ts };
    m.pending = queue.pending;
    m.oldestAgeS = queue.oldestAgeS;
    this.#rebalance(m.region);
  }

  /** Its connection ended: its grant still runs at the gateway until the lease ends. */
  left(id: string): void {
    const m = this.#members.get(id);
    if (!m) return;
    m.connected = false;
    this.#rebalance(m.region);
  }

  /** Forgets departed stores whose grant ran out, renews the grants of the others. */
  tick(): void {
    const now = this.#now();
    for (const [id, m] of this.#members) if (!m.connected && !this.#holds(m, now)) this.#members.delete(id);
    for (const region of Object.keys(this.#d.budgets)) this.#rebalance(region);
  }

  view(): RegionDrainView[] {
    const now = this.#now();
    return Object.entries(this.#d.budgets).map(([region, { drainBudgetPerSec }]) => {
      const members = [...this.#members.values()].filter((m) => m.region === region);
      const connected = members.filter((m) => m.connected);
      return {
        region,
        budgetPerSec: drainBudgetPerSec,
        ...(this.#d.heldElsewhere && { budgetHerePerSec: round1(this.#partHere(region, drainBudgetPerSec, connected.length)) }),
        grantedPerSec: round1(members.reduce((sum, m) => sum + (this.#holds(m, now) ? m.grant!.ratePerSec : 0), 0)),
        drainingPerSec: round1(connected.reduce((sum, m) => sum + m.drainPerSec, 0)),
        stores: connected.length,
        backlogged: connected.filter((m) => m.pending > 0).length,
        pending: connected.reduce((sum, m) => sum + m.pending, 0),
      };
    });
  }

  /** The region's budget in proportion to the stores held here among all the region's connected stores. */
  #partHere(region: string, budgetPerSec: number, here: number): number {
    const elsewhere = this.#d.heldElsewhere?.().get(region) ?? 0;
    return here + elsewhere === 0 ? budgetPerSec : (budgetPerSec * here) / (here + elsewhere);
  }

  #holds(m: Member, now: number): boolean {
    return m.grant !== undefined && now < m.grant.expiresAt + (m.connected ? 0 : LEASE_MARGIN_MS);
  }

  #rebalance(region: string): void {
    const budget = this.#d.budgets[region];
    if (!budget) return;
    const now = this.#now();
    const connected: [string, Member][] = [];
    let reserved = 0;
    for (const [id, m] of this.#members) {
      if (m.region !== region) continue;
      if (m.connected) connected.push([id, m]);
      else if (this.#holds(m, now)) reserved += m.grant!.ratePerSec;
    }
    const backlogs: StoreBacklog[] = connected.map(([id, m]) => ({ id, pending: m.pending, oldestAgeS: m.oldestAgeS }));
    const shares = shareBudget(this.#partHere(region, budget.drainBudgetPerSec, connected.length), backlogs, reserved);
    const lowered: [string, Member, number][] = [];
    const others: [string, Member, number][] = [];
    for (const [id, m] of connected) {
      const share = shares.get(id) ?? 0;
      const held = this.#holds(m, now) ? m.grant!.ratePerSec : undefined;
      if (held !== undefined && share < held) lowered.push([id, m, share]);
      // No grant (the store drains at its own rate), a larger share, or a lease more than half gone.
      else if (held === undefined || share > held || m.grant!.expiresAt - now < this.#d.leaseMs / 2) others.push([id, m, share]);
    }
    // Lowered first: the stores giving up budget hear of it before those taking it.
    for (const [id, m, share] of [...lowered, ...others]) {
      if (this.#d.send(id, share, this.#d.leaseMs)) m.grant = { ratePerSec: share, expiresAt: now + this.#d.leaseMs };
    }
  }
}
