import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { JournalStore } from '../../../sync/journal-store.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../../../test/support/postgres.js';
import { migrate } from '../../util/sqlite-file.js';
import type { TelemetrySample } from './downsample.js';
import { HUB_APPLICATION_ID, HUB_SCHEMA_VERSION, hubMigrations } from './store-schema.js';
import { HubStore } from './store.js';
import { HubStoreError } from './store/database.js';
import { postgresStore } from './store/postgres-config.js';
import { clientConfig } from './store/sql/postgres.js';

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

/** What two replicas starting rollouts at the same moment could store before one running rollout was the database's rule. */
const TWO_RUNNING_ROLLOUTS = `INSERT INTO rollouts (id, created_at, status, state) VALUES
  ('older', ${NOW - 1000}, 'canary', '{"id":"older","status":"canary","canaries":[]}'),
  ('newer', ${NOW}, 'rolling', '{"id":"newer","status":"rolling","canaries":[]}'),
  ('ended', ${NOW - 5000}, 'completed', '{"id":"ended","status":"completed"}')`;

/** The migration keeps the newest running and interrupts the other, in its state too, where the API reads it. */
async function expectOneRunningRollout(store: HubStore) {
  expect((await store.rollouts.running()).map((r) => r.id)).toEqual(['newer']);
  expect(await store.rollouts.get('older')).toEqual({ id: 'older', status: 'interrupted', reason: expect.stringMatching(/another rollout was running at the same time/), canaries: [] });
  expect(await store.rollouts.get('ended')).toEqual({ id: 'ended', status: 'completed' });
  expect(await store.rollouts.begin({ id: 'third', createdAt: NOW, status: 'canary', state: {} })).toBe(false);
}

/** The same cases on each backend: `open` opens the store of this test (again, after a restart). */
function storeCases(open: () => Promise<HubStore>) {
  let store: HubStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.close();
  });

  it('keeps the registry, the latest state and history; a late spooled message does not replace newer state', async () => {
    await store.hello(hello('store-1'), NOW, undefined);
    await store.writeBatch({
      telemetry: [
        { gatewayId: 'store-1', sample: sample(NOW + 10_000, 5, 'v2') },
        { gatewayId: 'store-1', sample: { ...sample(NOW - 60_000, 99, 'v0'), spooled: true } },
      ],
      events: [{ gatewayId: 'store-1', ts: NOW, source: 'gateway', event: 'link.state', details: { path: 'fiber' } }],
      seen: new Map([['store-1', NOW + 10_000]]),
    });
    const gw = (await store.gateways.get('store-1'))!;
    expect(gw).toMatchObject({ region: 'eu', tags: ['pilot'], online: true, configVersion: 'v2', lastSeen: NOW + 10_000, firstSeen: NOW });
    expect(gw.latest?.queue.pending).toBe(5);
    expect((await store.telemetry.since('store-1', 0, 100)).points.map((p) => p.ts)).toEqual([NOW - 60_000, NOW + 10_000]);
    expect(await store.events.recent('store-1', 10)).toMatchObject([{ event: 'link.state', source: 'gateway', details: { path: 'fiber' } }]);
    await store.left('store-1', NOW + 20_000, undefined);
    expect(await store.gateways.list()).toMatchObject([{ id: 'store-1', online: false, lastSeen: NOW + 20_000 }]);
  });

  it("stores a gateway's message once however often it is sent: a resend, in a later batch or the same one, is skipped", async () => {
    await store.hello(hello('store-1'), NOW, undefined);
    await store.hello(hello('store-2'), NOW, undefined);
    const event = (msgId: string | undefined) => ({ gatewayId: 'store-1', ts: NOW, source: 'gateway' as const, event: 'link.state', details: { path: 'fiber' }, ...(msgId && { msgId }) });
    const first = {
      telemetry: [
        { gatewayId: 'store-1', sample: sample(NOW + 1000, 1), msgId: 't1' },
        { gatewayId: 'store-1', sample: sample(NOW + 2000, 2), msgId: 't2' },
      ],
      events: [event('e1')],
      seen: new Map<string, number>(),
    };
    await store.writeBatch(first);
    // The hub that stored these was killed before it acked: the gateway sends them again, marked spooled, with one new of each.
    await store.writeBatch({
      telemetry: [
        { gatewayId: 'store-1', sample: { ...sample(NOW + 1000, 1), spooled: true }, msgId: 't1' },
        { gatewayId: 'store-1', sample: sample(NOW + 3000, 3), msgId: 't3' },
        { gatewayId: 'store-1', sample: sample(NOW + 3000, 3), msgId: 't3' },
        // Ids are the gateway's own: another gateway's t1 is another message.
        { gatewayId: 'store-2', sample: sample(NOW + 1000, 7), msgId: 't1' },
        // Older gateways' messages, and roll-ups, may come without one: never taken for repeats.
        { gatewayId: 'store-1', sample: sample(NOW + 4000, 4) },
        { gatewayId: 'store-1', sample: sample(NOW + 4000, 4) },
      ],
      events: [event('e1'), event('e2'), event(undefined), event(undefined), { gatewayId: 'store-1', ts: NOW, source: 'hub', event: 'hub.connected', details: {} }],
      seen: new Map(),
    });
    expect((await store.telemetry.since('store-1', 0, 100)).points.map((p) => p.ts)).toEqual([NOW + 1000, NOW + 2000, NOW + 3000, NOW + 4000, NOW + 4000]);
    expect((await store.telemetry.since('store-2', 0, 100)).points.map((p) => p.ts)).toEqual([NOW + 1000]);
    expect((await store.events.recent('store-1', 100)).map((e) => e.event)).toEqual(['hub.connected', 'link.state', 'link.state', 'link.state', 'link.state']);
  });

  it('writes a batch larger than one statement takes: every gateway its newest sample, every sample in history', async () => {
    const ids = Array.from({ length: 600 }, (_, i) => `gw-${String(i).padStart(3, '0')}`);
    // Heard together: written by group commit, more than one statement's rows and more than one write's.
    await Promise.all(ids.map((id) => store.hello(hello(id), NOW, undefined)));
    await store.writeBatch({
      telemetry: ids.flatMap((gatewayId, i) => [
        { gatewayId, sample: sample(NOW + 2000, i) },
        { gatewayId, sample: sample(NOW + 1000, -1) },
      ]),
      events: [],
      seen: new Map(ids.map((id, i) => [id, NOW + i])),
    });
    const listed = await store.gateways.list();
    expect(listed.map((g) => [g.latest?.queue.pending, g.lastSeen])).toEqual(ids.map((_, i) => [i, NOW + i]));
    expect((await store.telemetry.since('gw-599', 0, 10)).points.map((p) => p.ts)).toEqual([NOW + 1000, NOW + 2000]);
    // A day later, one housekeeping pass rolls all 1200 up, also across statement runs: one minute per gateway.
    expect(await store.housekeep(NOW + 48 * H, 24 * H, 720 * H)).toEqual({ rolledUp: 1200, expired: 0, more: false });
    expect((await store.telemetry.since('gw-599', 0, 10)).points).toMatchObject([{ ts: NOW, resolution: 'minute', samples: 2 }]);
  });

  it('writes hellos and departures heard together in the order they came: each gateway as its last change left it', async () => {
    await store.presence.heartbeat('r-1', NOW);
    await store.presence.heartbeat('r-2', NOW);
    await Promise.all([
      store.hello(hello('a'), NOW, 'r-1'),
      store.hello(hello('b', NOW + 5), NOW + 5, 'r-1'),
      store.left('a', NOW + 10, 'r-1'),
      // An older report heard later: seen, but its config version is not the gateway's latest.
      store.hello({ ...hello('b', NOW + 1), configVersion: 'v0' }, NOW + 6, undefined),
      store.hello(hello('a'), NOW + 20, 'r-2'),
      store.hello(hello('c'), NOW + 30, 'r-1'),
      store.left('c', NOW + 40, 'r-1'),
    ]);
    expect(await store.gateways.list()).toMatchObject([
      { id: 'a', online: true, firstSeen: NOW, lastSeen: NOW + 20 },
      { id: 'b', online: true, configVersion: 'v1', firstSeen: NOW + 5, lastSeen: NOW + 6 },
      { id: 'c', online: false, lastSeen: NOW + 40 },
    ]);
    expect(await store.presence.holder('a', 0)).toBe('r-2');
    expect(await store.presence.holder('b', 0)).toBe('r-1');
    expect(await store.presence.holder('c', 0)).toBeUndefined();
  });

  it('rolls raw telemetry older than the raw window up per minute, and expires what is past retention', async () => {
    await store.hello(hello('store-1'), NOW, undefined);
    const old = NOW - 30 * H; // minute-aligned, past the 24 h raw window
    const samples = [0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000].map((dt, i) => ({ gatewayId: 'store-1', sample: sample(old + dt, i) }));
    const recent = { gatewayId: 'store-1', sample: sample(NOW - H, 1) };
    const ancient = { gatewayId: 'store-1', sample: sample(NOW - 800 * H, 1) };
    await store.writeBatch({ telemetry: [...samples, recent, ancient], events: [{ gatewayId: 'store-1', ts: NOW - 800 * H, source: 'hub', event: 'hub.connected', details: {} }], seen: new Map() });

    // Bounded passes: three rows at a time until nothing is left.
    let passes = 0;
    while ((await store.housekeep(NOW, 24 * H, 720 * H, 3)).more) passes++;
    expect(passes).toBeGreaterThan(1);

    const points = (await store.telemetry.since('store-1', 0, 100)).points;
    expect(points.map((p) => [p.ts, p.resolution])).toEqual([
      [old, 'minute'],
      [old + 60_000, 'minute'],
      [NOW - H, 'raw'],
    ]);
    expect(points[0]).toMatchObject({ samples: 6, queue: { pending: 5, pendingMax: 5 } });
    expect(points[1]).toMatchObject({ samples: 2, queue: { pending: 7 } });
    expect(await store.events.recent('store-1', 10)).toEqual([]);
  });

  it('stores one running rollout at a time: a second is refused until the first has ended, and a saved one is not a start', async () => {
    const rollout = (id: string, status = 'canary') => ({ id, createdAt: NOW, status, state: { id, status } });
    expect(await store.rollouts.begin(rollout('r-1'))).toBe(true);
    expect(await store.rollouts.begin(rollout('r-2'))).toBe(false);
    expect(await store.rollouts.get('r-2')).toBeUndefined();
    await store.rollouts.save(rollout('r-1', 'rolling'));
    expect(await store.rollouts.begin(rollout('r-2'))).toBe(false);
    await store.rollouts.save(rollout('r-1', 'completed'));
    expect(await store.rollouts.begin(rollout('r-2'))).toBe(true);
    expect((await store.rollouts.running()).map((r) => r.id)).toEqual(['r-2']);
  });

  it('survives a restart', async () => {
    await store.hello(hello('store-1'), NOW, undefined);
    await store.desired.set({ gatewayId: 'store-1', yaml: 'version: 1\n', version: 'abc', setBy: 'ops', setAt: NOW });
    await store.commands.log({ id: 'c1', gatewayId: 'store-1', command: 'status', args: {}, who: 'ops', role: 'operator', sentAt: NOW });
    await store.commands.finish('c1', 'ok', { paused: false }, NOW + 5);
    await store.close();
    store = await open();
    await store.gateways.markAllOffline();
    expect(await store.gateways.get('store-1')).toMatchObject({ online: false });
    expect(await store.desired.get('store-1')).toMatchObject({ version: 'abc', applyStatus: 'pending' });
    expect(await store.commands.recent('store-1', 5)).toMatchObject([{ id: 'c1', who: 'ops', outcome: 'ok', result: { paused: false } }]);
  });

  it("finds a gateway's events and commands of one kind, newest first, among the others", async () => {
    await store.hello(hello('store-1'), NOW, undefined);
    const event = (gatewayId: string, ts: number, name: string, n: number) => ({ gatewayId, ts, source: 'gateway' as const, event: name, details: { n } });
    await store.writeBatch({
      telemetry: [],
      events: [event('store-1', NOW, 'unknown_outcome', 1), event('store-1', NOW + 1, 'link.state', 2), event('store-2', NOW + 2, 'unknown_outcome', 3), event('store-1', NOW + 3, 'unknown_outcome', 4)],
      seen: new Map(),
    });
    expect((await store.events.recentNamed('store-1', 'unknown_outcome', 10)).map((e) => e.details.n)).toEqual([4, 1]);
    expect((await store.events.recentNamed('store-1', 'unknown_outcome', 1)).map((e) => e.details.n)).toEqual([4]);
    const command = (id: string, name: string, sentAt: number) => ({ id, gatewayId: 'store-1', command: name, args: {}, who: 'ops-alice', role: 'operator', sentAt });
    await store.commands.log(command('c1', 'queue.settle', NOW));
    await store.commands.log(command('c2', 'replay.pause', NOW + 1));
    await store.commands.log(command('c3', 'queue.settle', NOW + 2));
    expect((await store.commands.recentNamed('store-1', 'queue.settle', 10)).map((c) => c.id)).toEqual(['c3', 'c1']);
  });
}

describe('hub store on SQLite', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hub-store-'));
    file = join(dir, 'data', 'hub.db');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the cases of both', () => storeCases(() => HubStore.open({ sqlite: { path: file } })));

  it('migrates a database of the first schema, keeping what it holds', async () => {
    const v1 = join(dir, 'v1.db');
    const db = new Database(v1);
    migrate(db, HUB_APPLICATION_ID, hubMigrations('sqlite').slice(0, 1));
    db.prepare(`INSERT INTO events (gateway_id, ts, source, event, details) VALUES ('store-1', ?, 'gateway', 'unknown_outcome', '{"n":1}')`).run(NOW);
    db.exec(TWO_RUNNING_ROLLOUTS);
    db.close();
    const store = await HubStore.open({ sqlite: { path: v1 } });
    expect(await store.events.recentNamed('store-1', 'unknown_outcome', 10)).toMatchObject([{ details: { n: 1 } }]);
    await expectOneRunningRollout(store);
    await store.close();
    const after = new Database(v1, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(HUB_SCHEMA_VERSION);
    expect(
      after.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('events_gateway_event', 'commands_gateway_command', 'telemetry_message', 'events_message') ORDER BY name`).pluck().all(),
    ).toEqual(['commands_gateway_command', 'events_gateway_event', 'events_message', 'telemetry_message']);
    after.close();
  });

  it('refuses a gateway journal or a foreign file, and leaves it as it was', async () => {
    const journal = join(dir, 'journal.db');
    JournalStore.open(journal, 1e6).close();
    await expect(HubStore.open({ sqlite: { path: journal } })).rejects.toThrow(HubStoreError);
    await expect(HubStore.open({ sqlite: { path: journal } })).rejects.toThrow(/another application/);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database at all, not even close'.repeat(100));
    await expect(HubStore.open({ sqlite: { path: junk } })).rejects.toThrow(/not a database/);
  });
});

describePostgres('hub store on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(() => {
    db = createTestDatabase();
  });
  afterAll(() => db?.drop());
  // Each case starts from an empty database, as each SQLite case from a new file.
  beforeEach(() => db.reset());

  describe('the cases of both', () => storeCases(() => HubStore.open({ postgres: postgresStore(db.config) })));

  it('migrates a database of the first schema, keeping what it holds, and stamps it with the schema version', async () => {
    // As the hub's role: the next migration's indexes need the tables' owner.
    db.admin(`SET ROLE ${db.name};
      CREATE TABLE storegw_hub (application_id BIGINT NOT NULL, version INTEGER NOT NULL); INSERT INTO storegw_hub VALUES (${HUB_APPLICATION_ID}, 1);
      ${hubMigrations('postgres')[0]!};
      INSERT INTO events (gateway_id, ts, source, event, details) VALUES ('store-1', ${NOW}, 'gateway', 'unknown_outcome', '{"n":1}');
      ${TWO_RUNNING_ROLLOUTS}`);
    const store = await HubStore.open({ postgres: postgresStore(db.config) });
    expect(await store.events.recentNamed('store-1', 'unknown_outcome', 10)).toMatchObject([{ details: { n: 1 }, ts: NOW }]);
    await expectOneRunningRollout(store);
    await store.close();
    expect(db.admin(`SELECT version FROM storegw_hub`).trim()).toBe(String(HUB_SCHEMA_VERSION));
    expect(
      db
        .admin(`SELECT indexname FROM pg_indexes WHERE indexname IN ('events_gateway_event', 'commands_gateway_command', 'telemetry_message', 'events_message') ORDER BY indexname`)
        .trim()
        .split('\n'),
    ).toEqual(['commands_gateway_command', 'events_gateway_event', 'events_message', 'telemetry_message']);
  });

  it("refuses another application's database, and one of a newer schema, and leaves them as they were", async () => {
    db.admin(`CREATE TABLE orders (id INTEGER)`);
    await expect(HubStore.open({ postgres: postgresStore(db.config) })).rejects.toThrow(/tables of another application/);
    expect(db.admin(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).trim()).toBe('1');
    db.reset();
    await (await HubStore.open({ postgres: postgresStore(db.config) })).close();
    db.admin(`UPDATE storegw_hub SET version = ${HUB_SCHEMA_VERSION + 1}`);
    await expect(HubStore.open({ postgres: postgresStore(db.config) })).rejects.toThrow(HubStoreError);
    await expect(HubStore.open({ postgres: postgresStore(db.config) })).rejects.toThrow(/newer than this storegw/);
  });

  it('a thousand hellos heard together cost a handful of commits, not one or two each', async () => {
    // Each reading is a psql session of its own, and so a commit, counted once that session has ended.
    let readings = 0;
    const commits = () => {
      readings++;
      return Number(db.admin(`SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).trim());
    };
    const store = await HubStore.open({ postgres: postgresStore(db.config) });
    await store.presence.heartbeat('r-1', NOW);
    const before = commits();
    const ids = Array.from({ length: 1000 }, (_, i) => `gw-${i}`);
    await Promise.all(ids.map((id) => store.hello(hello(id), NOW, 'r-1')));
    // A backend hands its counts over when its session ends.
    await store.close();
    // A control that must show in the counts before they are read: a hundred commits of a session of its own.
    const control = new pg.Client(clientConfig(postgresStore(db.config), 'storegw-test-control'));
    await control.connect();
    for (let i = 0; i < 100; i++) await control.query('SELECT txid_current()');
    await control.end();
    const counted = await vi.waitFor(
      () => {
        const n = commits() - before;
        expect(n).toBeGreaterThanOrEqual(100);
        return n;
      },
      { timeout: 10_000, interval: 100 },
    );
    // The store's own, beyond the control's and the readings' (all but the last, which
    // cannot count itself; on a loaded machine the control's counts come late, and the
    // readings waiting for them add up): the first hello alone, then the rest in writes of 500.
    expect(counted - 100 - (readings - 1)).toBeLessThan(20);
    expect(db.admin(`SELECT count(*) FROM gateways WHERE online = 1`).trim()).toBe('1000');
    expect(db.admin(`SELECT count(*) FROM hub_presence WHERE replica_id = 'r-1'`).trim()).toBe('1000');
  });

  it('comes back by itself when the server drops its connection', async () => {
    const errors: Error[] = [];
    const store = await HubStore.open({ postgres: postgresStore(db.config) }, (e) => errors.push(e));
    await store.hello(hello('store-1'), NOW, undefined);
    db.admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}' AND pid <> pg_backend_pid()`);
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    await store.ping();
    expect(await store.gateways.get('store-1')).toMatchObject({ id: 'store-1' });
    await store.close();
  });

  it('says which database it cannot reach, without its password', async () => {
    const wrong = postgresStore({ ...db.config, port: 1, connectTimeoutMs: 1000 });
    const failed = await HubStore.open({ postgres: wrong }).catch((e: unknown) => e as Error);
    expect(failed).toBeInstanceOf(HubStoreError);
    expect((failed as Error).message).toContain(`postgres database ${db.name} on 127.0.0.1`);
    expect((failed as Error).message).not.toContain(wrong.password!);
  });
});
