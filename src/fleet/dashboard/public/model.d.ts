// Types of model.js (plain JS for the browser, no build step), for the unit tests.
export type GatewayState = 'up' | 'degraded' | 'down' | 'offline';
export type LinkState = 'unknown' | 'up' | 'degraded' | 'down';

export interface PathView {
  name: string;
  state: LinkState;
  score: number;
  rttMs: number | null;
  jitterMs: number;
  lossPct: number;
}

export interface GatewayView {
  id: string;
  region: string;
  state: GatewayState;
  online?: boolean;
  lastSeen?: number;
  paths: PathView[];
  /** unknown: null from a gateway that does not report it. */
  queue: { pending: number; dead: number; unknown?: number | null; oldestAgeS: number; maxAgeS?: number | null; expiryWarning?: number | null } | null;
}

export interface PointView {
  ts: number;
  paths: { name: string; state: string; score: number; rttMs: number | null; jitterMs: number; lossPct: number }[];
  queue?: { pending: number; dead: number; unknown?: number; oldestAgeS: number };
}

export interface EventView {
  seq?: number;
  ts: number;
  event: string;
  details?: Record<string, unknown>;
}

export interface Outage {
  kind: 'down' | 'offline';
  path?: string;
  start: number;
  end: number;
}

export interface Filter {
  region?: string;
  state?: GatewayState | 'problem' | '';
  minPending?: number | string;
  deadOnly?: boolean;
  unknownOnly?: boolean;
  nearExpiryOnly?: boolean;
  text?: string;
}

export const STATES: GatewayState[];
export const STATE_TEXT: Record<GatewayState | LinkState, string>;
export const STATE_ICON: Record<GatewayState | LinkState, string>;
export const SORTABLE: string[];
export function bestPath<G extends { paths?: PathView[] }>(g: G): PathView | undefined;
export function sortGateways<G extends GatewayView>(list: G[], key: string, dir: 'asc' | 'desc'): G[];
export function filterGateways<G extends GatewayView>(list: G[], f?: Filter): G[];
export function nearExpiry(q: GatewayView['queue'] | undefined): { pct: number; leftS: number; text: string } | undefined;
export function countStates(list: { state: GatewayState }[]): Record<GatewayState | 'total', number>;
export function regionsOf(list: { region: string }[]): string[];
export function seriesFromPoints(points: PointView[]): {
  names: string[];
  x: number[];
  paths: Record<string, { rtt: (number | null)[]; jitter: (number | null)[]; loss: (number | null)[]; score: (number | null)[]; state: (string | null)[] }>;
  queue: { pending: (number | null)[]; dead: (number | null)[]; unknown: (number | null)[]; oldest: (number | null)[] };
};
export function outagePeriods(points: PointView[], events: EventView[], opts: { now: number; online: boolean; lastSeen?: number }): Outage[];
export function describeEvent(e: EventView): { label: string; detail: string; severity: GatewayState };
export function fmtMs(v: number | null | undefined): string;
export function fmtPct(v: number | null | undefined): string;
export function fmtDuration(seconds: number | null | undefined): string;
export function fmtAgo(ms: number | null | undefined): string;
export interface RegionDrainView {
  region: string;
  budgetPerSec: number;
  /** With several hub replicas: the part the replica that answered shares out; the other figures are its stores'. */
  budgetHerePerSec?: number;
  grantedPerSec: number;
  drainingPerSec: number;
  stores: number;
  backlogged: number;
  pending: number;
}
export function fmtRate(v: number | null | undefined): string;
export function budgetUse(r: RegionDrainView): { pct: number; granted: string; draining: string; stores: string };
export function describeResult(command: string, status: number, body: unknown): { ok: boolean; text: string };
export function describeFleetResult(status: number, body: unknown): { ok: boolean; text: string };
export function describeSettlement(c: { who: string; args: unknown; outcome: string | null; result: unknown }): { verdict: string; by: string; receipts: string; outcome: string; ok: boolean };
