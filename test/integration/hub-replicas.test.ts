// Two fleet hub replicas on one real PostgreSQL database, in one process: a
// command asked of one replica reaches a gateway connected to the other (once,
// also with payloads over NOTIFY's 8000 bytes) and the asker answers with the
// gateway's result; both replicas list the gateway as online; a gateway no
// live replica holds is offline at once, also when the replica that held it
// died without a word; a command for a dead replica's gateway is taken back
// unsent, and reaches the gateway once it is back on a live replica; a routed
// command is answered while both replicas' stores wait behind hellos; a lost
// LISTEN connection is reopened; a rollout started through one replica reaches
// and judges the other's gateways, one rollout at a time across both, and one
// whose replica died is taken over by the other; a region's drain budget is
// shared out across both, never above it; one replica runs housekeeping, and
// another takes over when its lock's session ends.
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import { configVersionOf } from '../../src/fleet/hub/desired-config.js';
import { startHub, type RunningHub } from '../../src/fleet/hub/server.js';
import { HubStore } from '../../src/fleet/hub/store.js';
import { postgresStore } from '../../src/fleet/hub/store/postgres-config.js';
import { clientConfig } from '../../src/fleet/hub/store/sql/postgres.js';
import type { CommandMessage, HubMessage } from '../../src/fleet/protocol.js';
import { createLogger } from '../../src/log.js';
import { defaultAnswer, FakeGateway, type FakeGatewayOptions } from '../support/fake-gateway.js';
import { tempDir } from '../support/gateway.js';
import { minimalGatewayYaml } from '../support/minimal-config.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';

const OPS_TOKEN = 'ops-token-0123456789abcdef';
const IDS = ['g-1', 'g-2', 'g-3', 'g-4', 'g-5', 'g-6', 'r-1', 'r-2', 'r-3', 'f-1', 'f-2', 's-1', 's-2', 'd-1', 'd-2', 'd-3', 't-1', 't-2', 't-3', 'c-1', 'c-2', 'h-1', 'h-2', 'h-3', 'h-4', 'h-5', 'k-1', 'k-2'];
const tokenOf = (id: string) => `token-of-${id}-0123456789`;
// A replica is taken for dead after three missed heartbeats: 1.2 s, which a heartbeat write on a loaded 2-core CI host does not miss.
const HEARTBEAT_MS = 400;
const TIMEOUT_MS = 1500;

interface Replica {
  hub: RunningHub;
  logs(): string;
  connect(id: string, more?: Partial<FakeGatewayOptions>): Promise<FakeGateway>;
  api(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<{ status: number; body: any; ms: number }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(25);
  }
}

const gatewayYaml = (storeId: string) => minimalGatewayYaml(storeId, 'test');

const commandsOf = (gw: FakeGateway, id: string) => gw.received.filter((m: HubMessage) => m.type === 'command' && m.id === id);

describePostgres('hub replicas on PostgreSQL', () => {
  let db: TestDatabase;
  let dir: string;
  const replicas: Replica[] = [];
  let a: Replica;
  let b: Replica;

  async function startReplica(): Promise<Replica> {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const r: Replica = {
      hub: await startHub(loadHubConfig(join(dir, 'hub.yaml')), createLogger({ level: 'debug', destination })),
      logs: () => lines.join(''),
      connect: (id, more = {}) => FakeGateway.connect({ url: `${r.hub.url.replace('http', 'ws')}/v1/gateways/connect`, token: tokenOf(id), id, ...more }),
      async api(method, path, body) {
        const started = Date.now();
        const res = await request(`${r.hub.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${OPS_TOKEN}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
          body: body === undefined ? null : JSON.stringify(body),
        });
        const text = await res.body.text();
        return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text), ms: Date.now() - started };
      },
    };
    replicas.push(r);
    return r;
  }

  /** The replica id holding `gatewayId`, as the presence table says. */
  const holderOf = (gatewayId: string) => db.admin(`SELECT replica_id FROM hub_presence WHERE gateway_id = '${gatewayId}'`).trim();

  beforeAll(async () => {
    db = createTestDatabase();
    dir = tempDir('storegw-replicas-');
    writeFileSync(join(dir, 'gateway-tokens.yaml'), IDS.map((id) => `${id}: ${tokenOf(id)}`).join('\n') + '\n', { mode: 0o600 });
    writeFileSync(join(dir, 'ops.token'), OPS_TOKEN + '\n', { mode: 0o600 });
    writeFileSync(
      join(dir, 'hub.yaml'),
      `version: 1
listen: { host: 127.0.0.1, port: 0 }
store: { postgres: ${JSON.stringify(db.config)}, flushIntervalMs: 50, housekeepingIntervalMs: 1000 }
auth:
  gatewayTokensFile: gateway-tokens.yaml
  opsTokens: [ { tokenFile: ops.token, role: operator } ]
connections: { heartbeatIntervalMs: ${HEARTBEAT_MS}, helloTimeoutMs: 2000 }
commands: { timeoutMs: ${TIMEOUT_MS} }
regions: { drain: { drainBudgetPerSec: 120 } }
`,
    );
    a = await startReplica();
    b = await startReplica();
  });

  afterAll(async () => {
    for (const r of replicas) await r.hub.close().catch(() => undefined);
    db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('a gateway on replica A, a command through replica B', () => {
    let gw: FakeGateway;
    beforeAll(async () => {
      // The result names the gateway's own count of commands: B must hand back exactly this one.
      let n = 0;
      gw = await a.connect('g-1', {
        onCommand: (cmd, g) => {
          n++;
          if (cmd.command === 'queue.settle') return defaultAnswer(cmd, g);
          return cmd.command === 'queue.list' ? { ok: true, result: { n, big: 'x'.repeat(20_000) } } : { ok: true, result: { n, via: g.id } };
        },
      });
      await eventually(async () => holderOf('g-1'), (h) => h !== '');
    });

    it('reaches the gateway once, and B answers with the gateway\'s result', async () => {
      const res = await b.api('POST', '/v1/gateways/g-1/commands', { command: 'status' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ gateway: 'g-1', command: 'status', ok: true, result: { via: 'g-1' } });
      expect(commandsOf(gw, res.body.id)).toHaveLength(1);
      // One log entry, by B, with the outcome: whichever replica reads it.
      const detail = await a.api('GET', '/v1/gateways/g-1');
      const logged = detail.body.commands.filter((c: { id: string }) => c.id === res.body.id);
      expect(logged).toMatchObject([{ command: 'status', outcome: 'ok', result: res.body.result }]);
      await sleep(200);
      expect(commandsOf(gw, res.body.id)).toHaveLength(1);
    });

    it('carries what NOTIFY cannot (a payload over 8000 bytes) both ways', async () => {
      const res = await b.api('POST', '/v1/gateways/g-1/commands', { command: 'queue.list', args: { state: 'dead' } });
      expect(res.status).toBe(200);
      expect(res.body.result.big).toHaveLength(20_000);
      expect(commandsOf(gw, res.body.id)).toHaveLength(1);
      // 400 receipts: about 16 KB of args to A, and as much of results back.
      const receipts = Array.from({ length: 400 }, () => randomUUID());
      const settled = await b.api('POST', '/v1/gateways/g-1/queue/settle', { receipts, as: 'retry' });
      expect(settled.status).toBe(200);
      expect(settled.body.result.results.map((r: { receipt: string }) => r.receipt)).toEqual(receipts);
      expect((commandsOf(gw, settled.body.id)[0] as CommandMessage).args.receipts).toEqual(receipts);
      // Taken by their addressees: nothing left in the table.
      expect(db.admin(`SELECT count(*) FROM hub_relay`).trim()).toBe('0');
    });

    it('lists the gateway as online on both replicas, and a fleet command through B reaches it', async () => {
      for (const r of [a, b]) {
        const list = await r.api('GET', '/v1/gateways');
        expect(list.body.find((g: { id: string }) => g.id === 'g-1')).toMatchObject({ online: true });
        expect((await r.api('GET', '/v1/gateways/g-1')).body).toMatchObject({ online: true });
      }
      const fleet = await b.api('POST', '/v1/fleet/commands', { command: 'status', ids: ['g-1'] });
      expect(fleet.body).toMatchObject({ matched: 1, sent: 1, ok: 1, offline: 0 });
    });

    it('a message notified twice is handled once', async () => {
      const holder = holderOf('g-1');
      const id = 'dup-0000-1111';
      const body = JSON.stringify({ kind: 'command', id, gatewayId: 'g-1', command: 'status', args: {}, timeoutMs: 1000, deadline: Date.now() + 60_000, replyTo: 'nobody0000000000' });
      const seq = db.admin(`INSERT INTO hub_relay (to_replica, body, created_at) VALUES ('${holder}', '${body}', ${Date.now()}) RETURNING seq`).trim().split('\n')[0];
      db.admin(`SELECT pg_notify('storegw_hub_${holder}', '${seq}')`);
      await gw.waitFor((m) => m.type === 'command' && m.id === id);
      // Again once the first was answered (the gateway's answer no longer waited for: only the row says it was handled).
      await sleep(300);
      db.admin(`SELECT pg_notify('storegw_hub_${holder}', '${seq}')`);
      await sleep(300);
      expect(commandsOf(gw, id)).toHaveLength(1);
      expect(db.admin(`SELECT count(*) FROM hub_relay WHERE to_replica = 'nobody0000000000'`).trim()).toBe('1');
      db.admin(`DELETE FROM hub_relay WHERE to_replica = 'nobody0000000000'`);
    });

    it('reopens a lost LISTEN connection, logs why, and routes again', async () => {
      const holder = holderOf('g-1');
      const owner = holder === '' ? undefined : replicas.find((r) => r.logs().includes(`"replica":"${holder}"`));
      expect(owner).toBe(a);
      db.admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'storegw-hub-listen' AND datname = current_database()`);
      await eventually(async () => a.logs(), (l) => l.includes('lost the PostgreSQL connection that hears other replicas'));
      expect(a.logs()).toMatch(/"level":50[^\n]*"err":\{[^\n]*lost the PostgreSQL connection that hears other replicas/);
      const res = await eventually(
        () => b.api('POST', '/v1/gateways/g-1/commands', { command: 'status' }),
        (r) => r.status === 200,
        10_000,
      );
      expect(res.body).toMatchObject({ ok: true, result: { via: 'g-1' } });
    });

    it('once the gateway leaves A, B answers offline at once', async () => {
      await gw.close();
      expect(await eventually(async () => holderOf('g-1'), (h) => h === '')).toBe('');
      const res = await b.api('POST', '/v1/gateways/g-1/commands', { command: 'status' });
      expect(res.status).toBe(409);
      expect(res.body.error).toBe('offline');
      expect(res.ms).toBeLessThan(TIMEOUT_MS / 2);
      expect((await b.api('GET', '/v1/gateways/g-1')).body).toMatchObject({ online: false });
    });
  });

  it('presence: a newer hello\'s row is not overwritten by an older one written late, nor removed by the older socket\'s close', async () => {
    const store = await HubStore.open({ postgres: postgresStore(db.config) });
    try {
      await store.presence.heartbeat('r-new', Date.now());
      await store.presence.heartbeat('r-old', Date.now());
      await store.presence.hold([{ gatewayId: 'g-6', replica: 'r-new', since: 2000 }]);
      await store.presence.hold([{ gatewayId: 'g-6', replica: 'r-old', since: 1000 }]);
      expect(await store.presence.holder('g-6', 0)).toBe('r-new');
      await store.presence.release([{ gatewayId: 'g-6', replica: 'r-old' }]);
      expect(await store.presence.holder('g-6', 0)).toBe('r-new');
      await store.presence.hold([{ gatewayId: 'g-6', replica: 'r-old', since: 3000 }]);
      expect(await store.presence.holder('g-6', 0)).toBe('r-old');
    } finally {
      await store.presence.forget('r-new');
      await store.presence.forget('r-old');
      await store.close();
    }
  });

  it('a gateway connected nowhere is offline at once, through either replica', async () => {
    for (const r of [a, b]) {
      const res = await r.api('POST', '/v1/gateways/g-2/commands', { command: 'status' });
      expect(res.status).toBe(409);
      expect(res.ms).toBeLessThan(TIMEOUT_MS / 2);
    }
  });

  it('a replica that died without a word: a command for its gateway is taken back unsent and answered so, until its heartbeat lapses; then offline at once', async () => {
    // What a killed replica leaves behind: its heartbeat row and its presence, with nobody listening.
    const dead = 'dead000000000000';
    const until = Date.now() + 500;
    db.admin(`INSERT INTO hub_replicas (id, heartbeat_at) VALUES ('${dead}', ${until}); INSERT INTO hub_presence (gateway_id, replica_id, since) VALUES ('g-3', '${dead}', ${until})`);
    expect((await b.api('GET', '/v1/gateways')).body.find((g: { id: string }) => g.id === 'g-3')).toBeUndefined(); // never said hello: not listed
    const waited = await b.api('POST', '/v1/gateways/g-3/commands', { command: 'status' });
    // Nobody took it: provably not sent, which a 504 (no answer: it may have run) would not say.
    expect(waited).toMatchObject({ status: 503, body: { error: 'busy', id: expect.any(String), message: expect.stringContaining('not sent') } });
    expect(waited.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(db.admin(`SELECT count(*) FROM hub_relay WHERE to_replica = '${dead}'`).trim()).toBe('0');
    expect(b.logs()).toContain('taken back unsent, looking for the gateway again');
    // Its heartbeat is older than three intervals now.
    await sleep(Math.max(0, until + 3 * HEARTBEAT_MS + 50 - Date.now()));
    const lapsed = await b.api('POST', '/v1/gateways/g-3/commands', { command: 'status' });
    expect(lapsed.status).toBe(409);
    expect(lapsed.ms).toBeLessThan(TIMEOUT_MS / 2);
  });

  it('a gateway whose replica died reconnects to a live one: a command asked meanwhile is taken back from the dead one and reaches it there, once', async () => {
    // A replica killed a moment ago: its heartbeat still fresh for the whole test, its gateways' presence rows its own.
    const dead = 'dead000000000001';
    const now = Date.now();
    db.admin(`INSERT INTO hub_replicas (id, heartbeat_at) VALUES ('${dead}', ${now + 10_000}); INSERT INTO hub_presence (gateway_id, replica_id, since) VALUES ('k-1', '${dead}', ${now - 1000}), ('k-2', '${dead}', ${now - 1000})`);
    // k-1 comes back on A (the command goes on to A), k-2 on B, the replica asked (B sends it itself).
    for (const [id, on] of [['k-1', a], ['k-2', b]] as const) {
      const asked = b.api('POST', `/v1/gateways/${id}/commands`, { command: 'status' });
      await sleep(100); // handed to the dead replica by now (a few ms): what it did not take is taken back
      const gw = await on.connect(id);
      await eventually(async () => holderOf(id), (h) => h !== dead);
      const res = await asked;
      expect(res).toMatchObject({ status: 200, body: { ok: true, result: { store: { id } } } });
      expect(res.ms).toBeLessThan(TIMEOUT_MS);
      expect(commandsOf(gw, res.body.id)).toHaveLength(1);
      expect(b.logs()).toMatch(new RegExp(`"gateway":"${id}"[^\n]*"holder":"${dead}"[^\n]*taken back unsent, looking for the gateway again`));
      await gw.close();
    }
    expect(db.admin(`SELECT count(*) FROM hub_relay WHERE to_replica = '${dead}'`).trim()).toBe('0');
    db.admin(`DELETE FROM hub_replicas WHERE id = '${dead}'`); // the others' heartbeats are counted below
  });

  it('a desired config set through B is pushed at once by A, which holds the gateway', async () => {
    const gw = await a.connect('g-5');
    await eventually(async () => holderOf('g-5'), (h) => h !== '');
    const put = await b.api('PUT', '/v1/gateways/g-5/config', { yaml: gatewayYaml('g-5') });
    expect(put.status).toBe(202);
    expect(put.body.online).toBe(true);
    const apply = (await gw.waitFor((m) => m.type === 'command' && m.command === 'config.apply')) as CommandMessage;
    expect(apply.args.yaml).toBe(gatewayYaml('g-5'));
    const detail = await eventually(
      () => b.api('GET', '/v1/gateways/g-5'),
      // The reported version is A's to write, at its next flush: read through B, it follows.
      (r) => r.body.config?.desired?.applyStatus === 'applied' && r.body.config?.inSync === true,
    );
    expect(detail.body.config).toMatchObject({ inSync: true, desired: { version: put.body.version, applyStatus: 'applied' } });
    // Logged once, by A, as the operator's.
    expect(detail.body.commands.filter((c: { command: string }) => c.command === 'config.apply')).toMatchObject([{ who: 'ops', role: 'operator', outcome: 'ok' }]);
    expect(gw.received.filter((m) => m.type === 'command' && m.command === 'config.apply')).toHaveLength(1);
    await gw.close();
  });

  describe('staged rollouts across replicas', () => {
    const shared = gatewayYaml('"${STORE_ID}"');
    const applies = (gw: FakeGateway) => gw.received.filter((m) => m.type === 'command' && m.command === 'config.apply');
    // Connected somewhere and in the registry: both are written in the background of a hello.
    const held = (ids: string[]) =>
      eventually(
        async () => [...ids.map(holderOf), db.admin(`SELECT count(*) FROM gateways WHERE id IN (${ids.map((id) => `'${id}'`).join(', ')})`).trim()],
        (h) => h.slice(0, -1).every((x) => x !== '') && h.at(-1) === String(ids.length),
      );
    const done = (r: Replica, id: string) =>
      eventually(
        () => r.api('GET', `/v1/fleet/rollouts/${id}`),
        (x) => !['canary', 'rolling'].includes(x.body.status),
        10_000,
      ).then((x) => x.body);

    it('a rollout through A judges a canary B holds from what B records, rolls on to both replicas\' gateways, and is the only one running', async () => {
      const onB = await Promise.all(['r-1', 'r-2'].map((id) => b.connect(id, { region: 'roll' })));
      const onA = await a.connect('r-3', { region: 'roll' });
      await held(['r-1', 'r-2', 'r-3']);
      const started = await a.api('POST', '/v1/fleet/rollouts', { yaml: shared, region: 'roll', canary: ['r-1'], healthyForMs: 300 });
      expect(started).toMatchObject({ status: 202, body: { status: 'canary', canaries: [{ id: 'r-1' }], rest: { total: 2 }, replica: expect.any(String) } });
      const elsewhere = await b.api('POST', '/v1/fleet/rollouts', { yaml: shared, region: 'roll', canary: ['r-2'], healthyForMs: 300 });
      expect(elsewhere.status).toBe(409);
      expect(elsewhere.body.message).toMatch(new RegExp(`rollout ${started.body.id} is still running .* on another hub replica`));
      const result = await done(a, started.body.id);
      expect(result).toMatchObject({ status: 'completed', canaries: [{ id: 'r-1', state: 'healthy', reported: started.body.version }], rest: { total: 2, applied: 2, failed: 0, pending: 0 } });
      // Each gateway was sent the config once, by the replica holding it.
      for (const gw of [...onB, onA]) expect(applies(gw)).toHaveLength(1);
      expect((await b.api('GET', `/v1/fleet/rollouts/${started.body.id}`)).body).toMatchObject({ status: 'completed' });
      await Promise.all([...onB, onA].map((g) => g.close()));
    }, 20_000);

    it('of rollouts started at the same moment through both replicas, one runs and the others are refused with its id', async () => {
      const gateways = await Promise.all([b.connect('s-1', { region: 'same' }), a.connect('s-2', { region: 'same' })]);
      await held(['s-1', 's-2']);
      const answers = await Promise.all([a, b, a, b, a, b].map((r, i) => r.api('POST', '/v1/fleet/rollouts', { yaml: shared, region: 'same', canary: [`s-${(i % 2) + 1}`], healthyForMs: 300 })));
      expect(answers.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409, 409]);
      const won = answers.find((r) => r.status === 202)!;
      for (const lost of answers.filter((r) => r.status === 409)) expect(lost.body.message).toMatch(new RegExp(`rollout ${won.body.id} is still running`));
      expect(await done(a, won.body.id)).toMatchObject({ status: 'completed', rest: { applied: 1 } });
      for (const gw of gateways) expect(applies(gw)).toHaveLength(1);
      await Promise.all(gateways.map((g) => g.close()));
    }, 20_000);

    it('a canary on B that refuses the config stops a rollout run by A, with B\'s reason, and the rest is untouched', async () => {
      const canary = await b.connect('f-1', { region: 'fail', onCommand: (c, g) => (c.command === 'config.apply' ? { ok: false, error: { code: 'invalid', message: 'journal path not writable' } } : defaultAnswer(c, g)) });
      const rest = await a.connect('f-2', { region: 'fail' });
      await held(['f-1', 'f-2']);
      const started = await a.api('POST', '/v1/fleet/rollouts', { yaml: shared, region: 'fail', canary: ['f-1'], healthyForMs: 300 });
      expect(started.status).toBe(202);
      expect(await done(a, started.body.id)).toMatchObject({ status: 'failed', reason: 'canary f-1: config.apply failed: invalid: journal path not writable', rest: { untouched: 1, applied: 0 } });
      expect(applies(rest)).toHaveLength(0);
      await Promise.all([canary, rest].map((g) => g.close()));
    }, 20_000);

    /** What a replica killed in the middle of a rollout leaves: its lapsed heartbeat, the rollout's row, the desired rows it wrote. */
    function leftByDeadReplica(o: { status: 'canary' | 'rolling'; region: string; canaries: string[]; reached: string[]; version?: string; previous?: unknown }) {
      const id = randomUUID();
      const dead = randomUUID().replaceAll('-', '').slice(0, 16);
      const version = o.version ?? configVersionOf(shared);
      const now = Date.now();
      const state = {
        id,
        status: o.status,
        version,
        selector: { region: o.region },
        healthyForMs: 200,
        maxFailures: 0,
        createdBy: 'ops',
        createdAt: now,
        updatedAt: now,
        canaries: o.canaries.map((c) => ({ id: c, state: o.status === 'canary' ? 'watching' : 'healthy' })),
        rest: { total: 2, applied: o.reached.length, pending: 0, failed: 0, inFlight: 0, untouched: 2 - o.reached.length },
        failures: [],
        replica: dead,
        ...(o.previous !== undefined && { previous: o.previous }),
      };
      const desired = [...o.canaries, ...o.reached].map((g) => `INSERT INTO desired (gateway_id, yaml, version, set_by, set_at, apply_status, apply_error, apply_at) VALUES ('${g}', '${shared}', '${version}', 'rollout', ${now}, 'applied', NULL, ${now});`);
      db.admin(`INSERT INTO hub_replicas (id, heartbeat_at) VALUES ('${dead}', ${now - 60_000}); ${desired.join(' ')} INSERT INTO rollouts (id, created_at, status, state) VALUES ('${id}', ${now}, '${o.status}', '${JSON.stringify(state)}')`);
      return { id, dead };
    }

    it('a rollout whose replica died in the rolling stage is taken over by a live one and goes on with the gateways not reached yet', async () => {
      const v = configVersionOf(shared);
      const reached = await Promise.all(['t-1', 't-2'].map((g, i) => [a, b][i]!.connect(g, { region: 'takeover', configVersion: v })));
      const left = await b.connect('t-3', { region: 'takeover' });
      await held(['t-1', 't-2', 't-3']);
      const { id, dead } = leftByDeadReplica({ status: 'rolling', region: 'takeover', canaries: ['t-1'], reached: ['t-2'] });
      const result = await done(a, id);
      expect(result).toMatchObject({ status: 'completed', rest: { total: 2, applied: 2, failed: 0, untouched: 0 } });
      expect(result.replica).toMatch(/^[0-9a-f]{16}$/);
      expect(result.replica).not.toBe(dead);
      expect(applies(left)).toHaveLength(1);
      for (const gw of reached) expect(applies(gw)).toHaveLength(0);
      expect(a.logs() + b.logs()).toMatch(/took over a rollout whose hub replica stopped/);
      await Promise.all([...reached, left].map((g) => g.close()));
    }, 20_000);

    it('one whose replica died in the canary stage starts the stage again, and puts the canary\'s previous config back if it fails', async () => {
      const previous = gatewayYaml('c-1');
      const canary = await b.connect('c-1', { region: 'takeover2', onCommand: (c, g) => (c.command === 'config.apply' && c.args.yaml === shared ? { ok: false, error: { code: 'invalid', message: 'no route to the ERP' } } : defaultAnswer(c, g)) });
      const rest = await a.connect('c-2', { region: 'takeover2' });
      await held(['c-1', 'c-2']);
      const { id } = leftByDeadReplica({ status: 'canary', region: 'takeover2', canaries: ['c-1'], reached: [], previous: [{ id: 'c-1', desired: { yaml: previous, version: configVersionOf(previous) } }] });
      expect(await done(b, id)).toMatchObject({ status: 'failed', reason: 'canary c-1: config.apply failed: invalid: no route to the ERP', rest: { untouched: 1 } });
      expect((await b.api('GET', `/v1/fleet/rollouts/${id}`)).body.previous).toBeUndefined();
      const back = await eventually(
        () => a.api('GET', '/v1/gateways/c-1'),
        (r) => r.body.config?.desired?.version === configVersionOf(previous),
      );
      expect(back.body.config.desired.version).toBe(configVersionOf(previous));
      expect(applies(rest)).toHaveLength(0);
      await Promise.all([canary, rest].map((g) => g.close()));
    }, 20_000);

    it('one whose config is no longer desired anywhere cannot be taken over: marked interrupted, saying why', async () => {
      const { id } = leftByDeadReplica({ status: 'rolling', region: 'gone', canaries: [], reached: [], version: 'abc123abc123' });
      const result = await done(b, id);
      expect(result).toMatchObject({ status: 'interrupted', reason: expect.stringMatching(/the hub replica running the rollout stopped, and the rollout's config is no longer desired/) });
    }, 20_000);
  });

  it('a region\'s drain budget is shared out by both replicas in proportion to the stores each holds: the grants add up to the budget, not twice it', async () => {
    const backlogged = async (r: Replica, id: string) => {
      const gw = await r.connect(id, { region: 'drain' });
      gw.queue = { pending: 500, dead: 0, oldestAgeS: 600 };
      gw.telemetry();
      return gw;
    };
    const onA = await backlogged(a, 'd-1');
    const onB = await Promise.all(['d-2', 'd-3'].map((id) => backlogged(b, id)));
    const granted = (gw: FakeGateway) => (gw.received.filter((m) => m.type === 'drain.grant').at(-1) as { ratePerSec: number } | undefined)?.ratePerSec ?? 0;
    // A holds one of the region's three stores: a third of 120 is its to give, B the rest.
    const overview = await eventually(
      () => a.api('GET', '/v1/fleet/overview'),
      (r) => r.body.regions?.find((x: { region: string }) => x.region === 'drain')?.budgetHerePerSec === 40,
    );
    expect(overview.body.regions.find((x: { region: string }) => x.region === 'drain')).toMatchObject({ budgetPerSec: 120, budgetHerePerSec: 40, stores: 1 });
    const grants = await eventually(
      async () => [onA, ...onB].map(granted),
      (g) => g[0]! > 0 && g[0]! <= 40 && g[1]! + g[2]! <= 80 && g[1]! > 0,
    );
    expect(grants[0]).toBeLessThanOrEqual(40);
    expect(grants[1]! + grants[2]!).toBeLessThanOrEqual(80);
    expect(grants.reduce((x, y) => x + y)).toBeGreaterThan(60);
    await Promise.all([onA, ...onB].map((g) => g.close()));
  }, 20_000);

  /** Runs `fn` while a session of the test's holds `table` locked (what a store queue stuck a minute behind looks like), given that session; the lock goes after. */
  async function whileLocked(table: string, fn: (locker: pg.Client) => Promise<void>): Promise<void> {
    const locker = new pg.Client(clientConfig(postgresStore(db.config), 'storegw-test-locker'));
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      await fn(locker);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
  }

  it('a replica whose store is held up (a table locked under it) still beats on its own connection: the others do not take it for dead', async () => {
    // After a mass reconnect every hello writes to the store's one connection, and its queue runs a minute behind.
    let gw: FakeGateway | undefined;
    await whileLocked('gateways', async (locker) => {
      // Its hello's write waits on the lock, and everything A writes after it waits behind.
      gw = await a.connect('h-1');
      await sleep(4 * HEARTBEAT_MS);
      const fresh = await locker.query<{ n: string }>('SELECT count(*) AS n FROM hub_replicas WHERE heartbeat_at >= $1', [Date.now() - 3 * HEARTBEAT_MS]);
      expect(Number(fresh.rows[0]!.n)).toBe(2);
    });
    await gw?.close();
  }, 20_000);

  it('a routed command\'s timeout counts from the ask: a lookup of its holder stuck behind the store does not stretch it', async () => {
    const gw = await a.connect('h-2');
    await eventually(async () => holderOf('h-2'), (h) => h !== '');
    let released = false;
    await whileLocked('hub_presence', async () => {
      const asked = b.api('POST', '/v1/gateways/h-2/commands', { command: 'status' }).then((r) => ({ ...r, released }));
      const answer = await Promise.race([asked, sleep(4 * TIMEOUT_MS).then(() => undefined)]);
      released = true;
      // Never handed on (its holder still unread): answered as not sent.
      expect(answer).toMatchObject({ status: 503, body: { message: expect.stringContaining('not sent: the hub did not find where the gateway is connected') }, released: false });
    });
    await gw.close();
  }, 20_000);

  it('a routed command is answered while both replicas\' stores wait behind hellos (their own connection routes it)', async () => {
    const gw = await a.connect('h-3');
    await eventually(async () => holderOf('h-3'), (h) => h !== '');
    const held: FakeGateway[] = [];
    await whileLocked('gateways', async () => {
      // A hello on each replica: each store's write of it waits on the lock, and whatever the store is asked next waits behind it.
      held.push(await a.connect('h-4'), await b.connect('h-5'));
      await sleep(200);
      const answer = await b.api('POST', '/v1/gateways/h-3/commands', { command: 'status' });
      expect(answer).toMatchObject({ status: 200, body: { ok: true } });
      expect(commandsOf(gw, answer.body.id)).toHaveLength(1);
    });
    // Then the hellos that waited are written.
    await eventually(async () => holderOf('h-4'), (h) => h !== '');
    await eventually(async () => holderOf('h-5'), (h) => h !== '');
    await Promise.all([...held, gw].map((g) => g.close()));
  }, 20_000);

  it('replica A closes; its gateway reconnects to B and gets commands asked of a new replica A', async () => {
    const seen: CommandMessage[] = [];
    const onA = await a.connect('g-4', { onCommand: (cmd, g) => (seen.push(cmd), defaultAnswer(cmd, g)) });
    await eventually(async () => holderOf('g-4'), (h) => h !== '');
    await a.hub.close();
    replicas.splice(replicas.indexOf(a), 1);
    await onA.closed;
    expect(holderOf('g-4')).toBe('');
    expect((await b.api('POST', '/v1/gateways/g-4/commands', { command: 'status' })).status).toBe(409);

    const onB = await b.connect('g-4', { onCommand: (cmd, g) => (seen.push(cmd), defaultAnswer(cmd, g)) });
    await eventually(async () => holderOf('g-4'), (h) => h !== '');
    a = await startReplica();
    const res = await a.api('POST', '/v1/gateways/g-4/commands', { command: 'status' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, result: { store: { id: 'g-4' } } });
    expect(seen.map((c) => c.id)).toEqual([res.body.id]);
    await onB.close();
  });

  it('one replica runs housekeeping at a time; another takes over when the leader\'s session ends', async () => {
    // The two-int advisory lock (HUB_APPLICATION_ID, 1): classid, objid, objsubid 2 in pg_locks.
    const holders = () => db.admin(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 1397184328 AND objid = 1 AND objsubid = 2 AND granted`).trim().split('\n').filter(Boolean);
    const leads = (r: Replica) => {
      const lines = r.logs().split('\n').filter((l) => l.includes('runs housekeeping (it holds the leader lock)'));
      return lines.at(-1)?.includes('this replica runs housekeeping') === true;
    };
    const leaders = async () => replicas.filter(leads);
    expect(await eventually(leaders, (l) => l.length === 1, 5000)).toHaveLength(1);
    expect(holders()).toHaveLength(1);
    await sleep(2500);
    expect(await leaders()).toHaveLength(1);

    // The lock's session killed under the leader: it says so, and one replica holds the lock again.
    const first = (await leaders())[0]!;
    db.admin(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1397184328 AND objid = 1 AND objsubid = 2`);
    await eventually(async () => first.logs(), (l) => l.includes('lost the PostgreSQL connection holding the leader lock'));
    expect(first.logs()).toMatch(/"level":50[^\n]*"err":\{[^\n]*lost the PostgreSQL connection holding the leader lock/);
    expect(await eventually(async () => holders(), (h) => h.length === 1, 5000)).toHaveLength(1);

    // The leader stops: the other replica takes over at its next turn.
    const leader = await eventually(leaders, (l) => l.length === 1, 5000);
    expect(leader).toHaveLength(1);
    const other = replicas.find((r) => r !== leader[0])!;
    await leader[0]!.hub.close();
    replicas.splice(replicas.indexOf(leader[0]!), 1);
    expect(await eventually(async () => leads(other), (l) => l, 5000)).toBe(true);
    expect(holders()).toHaveLength(1);
  });
});
