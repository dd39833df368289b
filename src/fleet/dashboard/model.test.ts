// The dashboard's pure logic (public/model.js, the browser's own module).
import { describe, expect, it } from 'vitest';
import {
  STATE_ICON,
  STATE_TEXT,
  budgetUse,
  countStates,
  describeEvent,
  describeFleetResult,
  describeResult,
  describeSettlement,
  filterGateways,
  fmtDuration,
  fmtRate,
  nearExpiry,
  outagePeriods,
  seriesFromPoints,
  sortGateways,
  type GatewayView,
  type PointView,
} from './public/model.js';

const path = (name: string, state: 'up' | 'degraded' | 'down', score: number, rttMs: number | null = 10) => ({ name, state, score, rttMs, jitterMs: 1, lossPct: state === 'down' ? 100 : 0 });
const gw = (id: string, region: string, state: GatewayView['state'], pending: number, dead = 0, paths = [path('fiber', 'up', 90)]): GatewayView => ({
  id,
  region,
  state,
  online: state !== 'offline',
  lastSeen: 1000,
  paths,
  queue: { pending, dead, oldestAgeS: pending * 10 },
});

const fleet = [
  gw('s-3', 'eu-west', 'up', 0),
  gw('s-1', 'eu-west', 'down', 40, 2, [path('fiber', 'down', 0, null)]),
  gw('s-2', 'eu-south', 'degraded', 5),
  gw('s-4', 'eu-south', 'offline', 900),
  gw('s-5', 'eu-west', 'up', 0, 0, [path('fiber', 'up', 60, 80), path('lte', 'up', 95, 40)]),
];
const ids = (list: GatewayView[]) => list.map((g) => g.id);

describe('sorting and filtering the fleet', () => {
  it('has a word and a shape for a path the gateway has not judged yet (unknown), as for every other state', () => {
    for (const state of ['up', 'degraded', 'down', 'offline', 'unknown'] as const) {
      expect(STATE_TEXT[state], state).toEqual(expect.any(String));
      expect(STATE_ICON[state], state).toEqual(expect.any(String));
    }
    expect(new Set(Object.values(STATE_ICON)).size).toBe(Object.keys(STATE_ICON).length);
    expect(STATE_TEXT.unknown).toBe('Unknown');
  });

  it('sorts by state worst first, by backlog, and keeps id order on ties', () => {
    expect(ids(sortGateways(fleet, 'state', 'asc'))).toEqual(['s-1', 's-4', 's-2', 's-3', 's-5']);
    expect(ids(sortGateways(fleet, 'pending', 'desc'))).toEqual(['s-4', 's-1', 's-2', 's-3', 's-5']);
    expect(ids(sortGateways(fleet, 'region', 'asc'))).toEqual(['s-2', 's-4', 's-1', 's-3', 's-5']);
    // Score and RTT by the best path: s-5's LTE (95, 40 ms).
    expect(ids(sortGateways(fleet, 'score', 'desc'))[0]).toBe('s-5');
    expect(ids(sortGateways(fleet, 'rtt', 'asc'))).toEqual(['s-2', 's-3', 's-4', 's-5', 's-1']);
  });

  it('filters by region, state, problems, backlog, dead letters and id', () => {
    expect(ids(filterGateways(fleet, { region: 'eu-south' }))).toEqual(['s-2', 's-4']);
    expect(ids(filterGateways(fleet, { state: 'down' }))).toEqual(['s-1']);
    expect(ids(filterGateways(fleet, { state: 'problem' }))).toEqual(['s-1', 's-2', 's-4']);
    expect(ids(filterGateways(fleet, { minPending: '10' }))).toEqual(['s-1', 's-4']);
    expect(ids(filterGateways(fleet, { deadOnly: true }))).toEqual(['s-1']);
    expect(ids(filterGateways(fleet, { text: ' S-5 ' }))).toEqual(['s-5']);
    expect(ids(filterGateways(fleet, { region: 'eu-west', state: 'up', minPending: 0 }))).toEqual(['s-3', 's-5']);
  });

  it('filters the stores whose backlog nears expiry', () => {
    const near = { ...gw('s-near', 'eu', 'down', 40), queue: { pending: 40, dead: 0, oldestAgeS: 400_000, maxAgeS: 604_800, expiryWarning: 0.5 } };
    const calm = { ...gw('s-calm', 'eu', 'down', 40), queue: { pending: 40, dead: 0, oldestAgeS: 60, maxAgeS: 604_800, expiryWarning: null } };
    expect(filterGateways([near, calm, ...fleet], { nearExpiryOnly: true }).map((g) => g.id)).toEqual(['s-near']);
    expect(filterGateways([near, calm], { nearExpiryOnly: false })).toHaveLength(2);
  });

  it('sorts and filters by unknown outcomes, a gateway that does not report them below every count', () => {
    const withUnknown = (g: GatewayView, unknown: number | null): GatewayView => ({ ...g, queue: { ...g.queue!, unknown } });
    const list = [withUnknown(gw('u-0', 'eu', 'up', 0), 0), withUnknown(gw('u-3', 'eu', 'up', 0), 3), withUnknown(gw('u-old', 'eu', 'up', 0), null), withUnknown(gw('u-1', 'eu', 'up', 0), 1)];
    expect(ids(sortGateways(list, 'unknown', 'desc'))).toEqual(['u-3', 'u-1', 'u-0', 'u-old']);
    expect(ids(filterGateways(list, { unknownOnly: true }))).toEqual(['u-3', 'u-1']);
  });

    it('counts stores per state', () => {
    expect(countStates(fleet)).toEqual({ total: 5, up: 2, degraded: 1, down: 1, offline: 1 });
  });
});

describe('outage periods', () => {
  const pt = (ts: number, fiber: 'up' | 'degraded' | 'down', lte: 'up' | 'degraded' | 'down' = 'up'): PointView => ({ ts, paths: [path('fiber', fiber, 50), path('lte', lte, 50)], queue: { pending: 0, dead: 0, oldestAgeS: 0 } });

  it('shades a path from its first DOWN point to the next point that is not, and a path still down until now', () => {
    const points = [pt(1000, 'up'), pt(2000, 'down'), pt(3000, 'down', 'down'), pt(4000, 'degraded', 'down'), pt(5000, 'up', 'down')];
    expect(outagePeriods(points, [], { now: 9000, online: true, lastSeen: 5000 })).toEqual([
      { kind: 'down', path: 'fiber', start: 2000, end: 4000 },
      { kind: 'down', path: 'lte', start: 3000, end: 9000 },
    ]);
  });

  it('shades the gateway offline between a disconnect and the next connect, and since it was last seen when offline now', () => {
    const points = [pt(1000, 'up'), pt(5000, 'up'), pt(8000, 'up')];
    const events = [
      { seq: 1, ts: 500, event: 'hub.connected' },
      { seq: 2, ts: 2000, event: 'hub.disconnected' },
      { seq: 3, ts: 4500, event: 'hub.connected' },
      { seq: 4, ts: 8500, event: 'hub.disconnected' },
    ];
    expect(outagePeriods(points, events, { now: 10_000, online: false, lastSeen: 8500 })).toEqual([
      { kind: 'offline', start: 2000, end: 4500 },
      { kind: 'offline', start: 8500, end: 10_000 },
    ]);
  });

  it('takes a connect without a disconnect (the hub restarted) as a gap since the last point before it', () => {
    const points = [pt(1000, 'up'), pt(2000, 'up'), pt(7000, 'up')];
    expect(outagePeriods(points, [{ ts: 6500, event: 'hub.connected' }], { now: 8000, online: true })).toEqual([{ kind: 'offline', start: 2000, end: 6500 }]);
    // The very first connect of the window, with nothing before it, is no outage.
    expect(outagePeriods([pt(7000, 'up')], [{ ts: 6500, event: 'hub.connected' }], { now: 8000, online: true })).toEqual([]);
  });
});

describe('chart series', () => {
  it('makes one column per path and metric, with gaps where a point lacks the path', () => {
    const s = seriesFromPoints([
      { ts: 1000, paths: [path('fiber', 'up', 90, 12)], queue: { pending: 1, dead: 0, oldestAgeS: 3 } },
      { ts: 2000, paths: [path('fiber', 'down', 0, null), path('lte', 'up', 70, 40)] },
    ]);
    expect(s.names).toEqual(['fiber', 'lte']);
    expect(s.x).toEqual([1, 2]);
    expect(s.paths.fiber!.rtt).toEqual([12, null]);
    expect(s.paths.lte!.score).toEqual([null, 70]);
    expect(s.queue.pending).toEqual([1, null]);
    expect(s.queue.unknown).toEqual([null, null]);
    expect(seriesFromPoints([{ ts: 1000, paths: [], queue: { pending: 0, dead: 0, unknown: 2, oldestAgeS: 0 } }]).queue.unknown).toEqual([2]);
  });
});

describe('words', () => {
  it('describes events for the timeline', () => {
    expect(describeEvent({ ts: 1, event: 'link.state', details: { path: 'fiber', from: 'up', to: 'down', cause: 'probe', lossPct: 100, rttMs: 12.34 } })).toEqual({
      label: 'Path fiber DOWN',
      detail: 'up → down (probe), loss 100 %, RTT 12.3 ms',
      severity: 'down',
    });
    expect(describeEvent({ ts: 1, event: 'config.applied', details: { version: 'b', previousVersion: 'a' } }).label).toBe('Config applied');
    expect(describeEvent({ ts: 1, event: 'config.rolled_back', details: { check: 'paths' } }).severity).toBe('down');
    expect(describeEvent({ ts: 1, event: 'dead_letter', details: { route: 'pos-orders', receipt: 'r1', reason: 'HTTP 422' } }).detail).toBe('pos-orders r1: HTTP 422');
    expect(describeEvent({ ts: 1, event: 'unknown_outcome', details: { route: 'stock-barcode', receipt: 'r2', reason: 'no answer within 8000 ms', attempts: 1 } })).toEqual({
      label: 'Outcome unknown',
      detail: 'stock-barcode r2: no answer within 8000 ms after 1 attempt — held until someone says whether it happened',
      severity: 'degraded',
    });
  });

  it('describes expired entries, bursts and a backlog near expiry, naming the first entries', () => {
    const entries = [
      { receipt: '0000abcd-0000-4000-8000-000000000001', route: 'pos-orders', reason: 'expired: pending longer than 168 h' },
      { receipt: '0000ef01-0000-4000-8000-000000000002', route: 'stock-barcode', reason: 'expired: pending longer than 168 h' },
    ];
    expect(describeEvent({ ts: 1, event: 'journal.expired', details: { count: 12_000, maxAgeHours: 168, entries } })).toEqual({
      label: 'Entries expired',
      detail: '12000 pending longer than 168 h became dead letters, among them pos-orders 0000abcd, stock-barcode 0000ef01, …',
      severity: 'down',
    });
    expect(describeEvent({ ts: 1, event: 'journal.expired', details: { count: 2, maxAgeHours: 168, entries } }).detail).not.toContain('…');
    expect(describeEvent({ ts: 1, event: 'dead_letter.summary', details: { count: 480, sinceTs: 0, entries } })).toMatchObject({ label: 'Dead letters', detail: expect.stringMatching(/^480 more since .* among them pos-orders 0000abcd/), severity: 'down' });
    expect(describeEvent({ ts: 1, event: 'unknown_outcome.summary', details: { count: 3, sinceTs: 0, entries } })).toMatchObject({ label: 'Outcomes unknown', severity: 'degraded' });
    expect(describeEvent({ ts: 1, event: 'journal.near_expiry', details: { fraction: 0.9, oldestAgeS: 547_200, maxAgeS: 604_800, pending: 310 } })).toEqual({
      label: 'Backlog near expiry',
      detail: 'oldest pending 6 d 8 h, past 90 % of the max age (7 d); 310 pending',
      severity: 'degraded',
    });
    expect(describeEvent({ ts: 1, event: 'journal.near_expiry_cleared', details: { fraction: 0.9, oldestAgeS: 60, maxAgeS: 604_800, pending: 2 } })).toMatchObject({ label: 'Backlog no longer near expiry', severity: 'up' });
  });

  it('words a backlog near expiry, and nothing without a warning or from a gateway that does not raise one', () => {
    expect(nearExpiry({ pending: 3, dead: 0, oldestAgeS: 547_200, maxAgeS: 604_800, expiryWarning: 0.9 })).toEqual({ pct: 90, leftS: 57_600, text: 'past 90 % of the max age (7 d): the oldest entry expires in 16 h' });
    expect(nearExpiry({ pending: 3, dead: 0, oldestAgeS: 60, maxAgeS: 604_800, expiryWarning: null })).toBeUndefined();
    expect(nearExpiry({ pending: 3, dead: 0, oldestAgeS: 60 })).toBeUndefined();
    expect(nearExpiry(null)).toBeUndefined();
  });

  it('formats durations', () => {
    expect([fmtDuration(0), fmtDuration(59.6), fmtDuration(65), fmtDuration(3600), fmtDuration(90_061), fmtDuration(null)]).toEqual(['0 s', '1 min', '1 min 5 s', '1 h', '1 d 1 h', '—']);
  });

  it("says what came of a command, also when there was no gateway's answer", () => {
    expect(describeResult('replay.pause', 200, { ok: true, result: { paused: true, ratePerSec: 50 } })).toEqual({ ok: true, text: 'Replay paused at 50/s' });
    expect(describeResult('queue.discard', 200, { ok: true, result: { results: [{ receipt: 'abcdef0123', ok: false, error: 'not_dead' }] } })).toEqual({ ok: false, text: 'Discarded 0 of 1 (abcdef01: not_dead)' });
    expect(describeResult('queue.settle', 200, { ok: true, result: { results: [{ receipt: 'abcdef0123', ok: true, state: 'pending' }] } })).toEqual({ ok: true, text: 'Put back in the queue: 1 of 1' });
    expect(describeResult('queue.settle', 200, { ok: true, result: { results: [{ receipt: 'abcdef0123', ok: true, state: 'delivered' }, { receipt: '9876543210', ok: false, state: 'pending', error: 'not_unknown' }] } })).toEqual({
      ok: false,
      text: 'Marked delivered: 1 of 2 (98765432: already pending)',
    });
    expect(describeResult('replay.pause', 409, { error: 'offline' }).text).toBe('Failed (409): the gateway is offline');
    expect(describeResult('replay.pause', 403, { error: 'forbidden' }).text).toBe('Failed (403): this token may only read');
    expect(
      describeSettlement({ who: 'ops-alice', args: { receipts: ['abcdef0123', '9876543210'], as: 'delivered', by: 'ops-alice' }, outcome: 'ok', result: { results: [{ ok: true }, { ok: false }] } }),
    ).toEqual({ verdict: 'Happened → mark delivered', by: 'ops-alice', receipts: 'abcdef01, 98765432', outcome: '1 of 2 settled', ok: false });
    expect(describeSettlement({ who: 'ops-bob', args: { receipts: ['abcdef0123'], as: 'retry', by: 'ops-bob' }, outcome: 'timeout', result: null })).toMatchObject({ verdict: 'Did not happen → retry', outcome: 'timeout', ok: false });
    expect(describeFleetResult(200, { matched: 3, sent: 2, ok: 2, failed: 0, offline: 1, offlineIds: ['s-9'], results: [] })).toEqual({ ok: false, text: '2 of 3 gateways done, 1 offline (s-9)' });
  });
});

describe('region drain budgets', () => {
  const region = { region: 'eu-north', budgetPerSec: 400, grantedPerSec: 380.4, drainingPerSec: 312.25, stores: 50, backlogged: 12, pending: 4000 };

  it('formats a rate', () => {
    expect([fmtRate(12.34), fmtRate(312.6), fmtRate(0), fmtRate(null)]).toEqual(['12.3/s', '313/s', '0/s', '—']);
  });

  it('says how much of a budget is granted and how fast the region drains', () => {
    expect(budgetUse(region)).toEqual({ pct: 95, granted: '380/s of 400/s (95 %)', draining: '312/s', stores: '12 of 50' });
    expect(budgetUse({ ...region, backlogged: 0, drainingPerSec: 0, grantedPerSec: 0 })).toMatchObject({ pct: 0, draining: 'idle' });
    // Several hub replicas: the one that answered speaks for its part.
    expect(budgetUse({ ...region, budgetHerePerSec: 200, grantedPerSec: 190 }).granted).toBe("190/s of 200/s (95 %, this hub replica's part of 400/s)");
  });
});

