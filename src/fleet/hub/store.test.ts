import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JournalStore } from '../../../sync/journal-store.js';
import { migrate } from '../../util/sqlite-file.js';
import type { TelemetrySample } from './downsample.js';
import { HUB_APPLICATION_ID, HUB_MIGRATIONS, HUB_SCHEMA_VERSION } from './store-schema.js';
import { HubStore } from './store.js';
import { HubStoreError } from './store/database.js';

const H = 3_600_000;
const NOW = 1_700_000_040_000 + 30 * 24 * H;

function sample(ts: number, pending: number, configVersion = 'v1'): TelemetrySample {
  return {
    ts,
    configVersion,
    paths: [{ name: 'fiber', state: 'up', score: 100, rttMs: 10, jitterMs: 1, lossPct: 0 }],
    queue: { pending, dead: 0, oldestAgeS: 0 },
    requests: {},
  };
}

const hello = (id: string, ts = NOW) => ({ id, region: 'eu', tags: ['pilot'], version: '0.1.0', configVersion: 'v1', ts, paths: [] });

describe('hub store', () => {
  let dir: string;
  let file: string;
  let store: HubStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hub-store-'));
    file = join(dir, 'data', 'hub.db');
    store = HubStore.open(file);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the registry, the latest state and history; a late spooled message does not replace newer state', () => {
    store.gateways.hello(hello('store-1'), NOW);
    store.writeBatch({
      telemetry: [
        { gatewayId: 'store-1', sample: sample(NOW + 10_000, 5, 'v2') },
        { gatewayId: 'store-1', sample: { ...sample(NOW - 60_000, 99, 'v0'), spooled: true } },
      ],
      events: [{ gatewayId: 'store-1', ts: NOW, source: 'gateway', event: 'link.state', details: { path: 'fiber' } }],
      seen: new Map([['store-1', NOW + 10_000]]),
    });
    const gw = store.gateways.get('store-1')!;
    expect(gw).toMatchObject({ region: 'eu', tags: ['pilot'], online: true, configVersion: 'v2', lastSeen: NOW + 10_000, firstSeen: NOW });
    expect(gw.latest?.queue.pending).toBe(5);
    expect(store.telemetry.since('store-1', 0, 100).points.map((p) => p.ts)).toEqual([NOW - 60_000, NOW + 10_000]);
    expect(store.events.recent('store-1', 10)).toMatchObject([{ event: 'link.state', source: 'gateway', details: { path: 'fiber' } }]);
    store.gateways.setOffline('store-1', NOW + 20_000);
    expect(store.gateways.list()).toMatchObject([{ id: 'store-1', online: false, lastSeen: NOW + 20_000 }]);
  });

  it('rolls raw telemetry older than the raw window up per minute, and expires what is past retention', () => {
    store.gateways.hello(hello('store-1'), NOW);
    const old = NOW - 30 * H; // minute-aligned, past the 24 h raw window
    const samples = [0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000].map((dt, i) => ({ gatewayId: 'store-1', sample: sample(old + dt, i) }));
    const recent = { gatewayId: 'store-1', sample: sample(NOW - H, 1) };
    const ancient = { gatewayId: 'store-1', sample: sample(NOW - 800 * H, 1) };
    store.writeBatch({ telemetry: [...samples, recent, ancient], events: [{ gatewayId: 'store-1', ts: NOW - 800 * H, source: 'hub', event: 'hub.connected', details: {} }], seen: new Map() });

    // Bounded passes: three rows at a time until nothing is left.
    let passes = 0;
    while (store.housekeep(NOW, 24 * H, 720 * H, 3).more) passes++;
    expect(passes).toBeGreaterThan(1);

    const points = store.telemetry.since('store-1', 0, 100).points;
    expect(points.map((p) => [p.ts, p.resolution])).toEqual([
      [old, 'minute'],
      [old + 60_000, 'minute'],
      [NOW - H, 'raw'],
    ]);
    expect(points[0]).toMatchObject({ samples: 6, queue: { pending: 5, pendingMax: 5 } });
    expect(points[1]).toMatchObject({ samples: 2, queue: { pending: 7 } });
    expect(store.events.recent('store-1', 10)).toEqual([]);
  });

  it('survives a restart', () => {
    store.gateways.hello(hello('store-1'), NOW);
    store.desired.set({ gatewayId: 'store-1', yaml: 'version: 1\n', version: 'abc', setBy: 'ops', setAt: NOW });
    store.commands.log({ id: 'c1', gatewayId: 'store-1', command: 'status', args: {}, who: 'ops', role: 'operator', sentAt: NOW });
    store.commands.finish('c1', 'ok', { paused: false }, NOW + 5);
    store.close();
    store = HubStore.open(file);
    store.gateways.markAllOffline();
    expect(store.gateways.get('store-1')).toMatchObject({ online: false });
    expect(store.desired.get('store-1')).toMatchObject({ version: 'abc', applyStatus: 'pending' });
    expect(store.commands.recent('store-1', 5)).toMatchObject([{ id: 'c1', who: 'ops', outcome: 'ok', result: { paused: false } }]);
  });

  it("finds a gateway's events and commands of one kind, newest first, among the others", () => {
    store.gateways.hello(hello('store-1'), NOW);
    const event = (gatewayId: string, ts: number, name: string, n: number) => ({ gatewayId, ts, source: 'gateway' as const, event: name, details: { n } });
    store.writeBatch({
      telemetry: [],
      events: [event('store-1', NOW, 'unknown_outcome', 1), event('store-1', NOW + 1, 'link.state', 2), event('store-2', NOW + 2, 'unknown_outcome', 3), event('store-1', NOW + 3, 'unknown_outcome', 4)],
      seen: new Map(),
    });
    expect(store.events.recentNamed('store-1', 'unknown_outcome', 10).map((e) => e.details.n)).toEqual([4, 1]);
    expect(store.events.recentNamed('store-1', 'unknown_outcome', 1).map((e) => e.details.n)).toEqual([4]);
    const command = (id: string, name: string, sentAt: number) => ({ id, gatewayId: 'store-1', command: name, args: {}, who: 'ops-alice', role: 'operator', sentAt });
    store.commands.log(command('c1', 'queue.settle', NOW));
    store.commands.log(command('c2', 'replay.pause', NOW + 1));
    store.commands.log(command('c3', 'queue.settle', NOW + 2));
    expect(store.commands.recentNamed('store-1', 'queue.settle', 10).map((c) => c.id)).toEqual(['c3', 'c1']);
  });

  it('migrates a database of the first schema, keeping what it holds', () => {
    store.close();
    const v1 = join(dir, 'v1.db');
    const db = new Database(v1);
    migrate(db, HUB_APPLICATION_ID, HUB_MIGRATIONS.slice(0, 1));
    db.prepare(`INSERT INTO events (gateway_id, ts, source, event, details) VALUES ('store-1', ?, 'gateway', 'unknown_outcome', '{"n":1}')`).run(NOW);
    db.close();
    store = HubStore.open(v1);
    expect(store.events.recentNamed('store-1', 'unknown_outcome', 10)).toMatchObject([{ details: { n: 1 } }]);
    store.close();
    const after = new Database(v1, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(HUB_SCHEMA_VERSION);
    expect(after.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('events_gateway_event', 'commands_gateway_command') ORDER BY name`).pluck().all()).toEqual(['commands_gateway_command', 'events_gateway_event']);
    after.close();
    store = HubStore.open(file);
  });

    it('refuses a gateway journal or a foreign file, and leaves it as it was', () => {
    const journal = join(dir, 'journal.db');
    JournalStore.open(journal, 1e6).close();
    expect(() => HubStore.open(journal)).toThrow(HubStoreError);
    expect(() => HubStore.open(journal)).toThrow(/another application/);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database at all, not even close'.repeat(100));
    expect(() => HubStore.open(junk)).toThrow(/not a database/);
  });
});
