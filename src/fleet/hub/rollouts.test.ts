import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connections } from './connections.js';
import type { ApplyOutcome, DesiredState } from './desired.js';
import { Rollouts, type RolloutState, type StartResult } from './rollouts.js';
import type { RolloutStates } from './store/rollout-states.js';
import { HubStore } from './store.js';
import { minimalGatewayYaml } from '../../../test/support/minimal-config.js';

// Rollouts on a real hub database whose writes can be slow (as on a loaded
// PostgreSQL), with the gateways' side faked: a canary that takes or refuses
// the config when told. The cases are the windows where a running row in the
// database and the rollout in memory disagree.

const YAML = minimalGatewayYaml('"${STORE_ID}"', 'test');
const REQUEST = { yaml: YAML, selector: { region: 'r' }, canary: { ids: ['c-1'] }, healthyForMs: 50, maxFailures: 0 };
const OPS = { name: 'ops', role: 'operator' } as const;
const REFUSED: ApplyOutcome = { status: 'answered', id: 'c', ok: false, error: { code: 'invalid', message: 'journal path not writable' } };
const FAILED = { status: 'failed', reason: 'canary c-1: config.apply failed: invalid: journal path not writable' };
const SLOW_MS = 150;

let dir: string;
let store: HubStore;
const made: Rollouts[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'storegw-rollouts-'));
  store = await HubStore.open({ sqlite: { path: join(dir, 'hub.db') } });
  for (const id of ['c-1', 'c-2']) await store.hello({ id, region: 'r', tags: [], version: '0.1.0', configVersion: 'v0', ts: Date.now(), paths: [] }, Date.now(), undefined);
});

afterEach(async () => {
  for (const r of made.splice(0)) r.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The store's rollout rows, slow where asked: a save written SLOW_MS late; a
 * begin that stored its row acknowledged SLOW_MS late; a read of the running
 * rows held until `running` resolves.
 */
function states(slow: { save?: boolean; begin?: boolean; running?: () => Promise<void> } = {}): RolloutStates {
  const real = store.rollouts;
  return {
    save: async (r) => {
      if (slow.save) await sleep(SLOW_MS);
      return real.save(r);
    },
    begin: async (r) => {
      const stored = await real.begin(r);
      return stored && slow.begin ? sleep(SLOW_MS, stored) : stored;
    },
    running: async () => {
      const rows = await real.running();
      await slow.running?.();
      return rows;
    },
    get: (id) => real.get(id),
    claim: (id, text, r) => real.claim(id, text, r),
  } as RolloutStates;
}

function rollouts(o: { replica?: string; states: RolloutStates; canary: () => Promise<ApplyOutcome>; othersLive?: boolean }): Rollouts {
  const r = new Rollouts({
    gateways: store.gateways,
    states: o.states,
    configs: store.desired,
    events: store.events,
    replicas: o.replica === undefined ? undefined : { id: o.replica, online: async () => new Set(['c-1', 'c-2']), isLive: async () => o.othersLive ?? true, push: async () => undefined },
    desired: { set: o.canary, revert: (id: string) => void store.desired.clear(id) } as unknown as DesiredState,
    connections: { get: () => ({ reported: { paths: [] } }) } as unknown as Connections,
    logger: pino({ level: 'silent' }),
    concurrency: 1,
    applyTimeoutMs: 1000,
  });
  made.push(r);
  return r;
}

const stored = async (id: string) => (await store.rollouts.get(id)) as RolloutState;
const idOf = (r: StartResult) => (r.ok ? r.state.id : '');

for (const replica of [undefined, 'here']) {
  describe(replica ? 'with replicas' : 'one hub', () => {
    it('a failed canary stage stays failed while its last write is slow, and a start meanwhile waits for that write', async () => {
      const r = rollouts({ replica, states: states({ save: true }), canary: async () => REFUSED });
      // With replicas, a look for orphans every 10 ms: many fall while the failed state is being written.
      await r.settleAtStart(replica === undefined ? undefined : 10);
      const first = await r.start(REQUEST, OPS);
      // The fake canary refuses at once: the stage has failed, and its state is being written.
      await sleep(20);
      const next = await r.start(REQUEST, OPS);
      expect(next).toMatchObject({ ok: true });
      await sleep(SLOW_MS * 3);
      expect(await stored(idOf(first))).toMatchObject(FAILED);
      expect((await stored(idOf(next))).replica).toBe(replica);
    });

    it('of two starts while the first one\'s row is slow to be acknowledged, the first runs and the second is refused with its id', async () => {
      const r = rollouts({ replica, states: states({ begin: true }), canary: () => new Promise(() => undefined) });
      await r.settleAtStart(replica === undefined ? undefined : 10);
      const [first, second] = await Promise.all([r.start(REQUEST, OPS), sleep(SLOW_MS / 3).then(() => r.start(REQUEST, OPS))]);
      expect(first).toMatchObject({ ok: true, state: { status: 'canary' } });
      // This hub's own rollout: not "on another hub replica".
      expect(second).toMatchObject({ ok: false, status: 409, message: `rollout ${idOf(first)} is still running (canary)` });
      await sleep(SLOW_MS);
      expect(await stored(idOf(first))).toMatchObject({ status: 'canary' });
      expect(await r.get(idOf(first))).toMatchObject({ status: 'canary' });
    });
  });
}

it('a replica taken for dead that writes its rollout\'s end while another looks at the row keeps what it wrote', async () => {
  let answer!: (o: ApplyOutcome) => void;
  const a = rollouts({ replica: 'a', states: states(), canary: () => new Promise((resolve) => (answer = resolve)) });
  const started = await a.start(REQUEST, OPS);
  let read!: () => void;
  const looked = new Promise<void>((resolve) => (read = resolve));
  let goOn!: () => void;
  const b = rollouts({
    replica: 'b',
    othersLive: false,
    states: states({ running: () => (read(), new Promise((resolve) => (goOn = resolve))) }),
    canary: async () => REFUSED,
  });
  const settled = b.settleAtStart();
  await looked;
  // B has read A's row as running; A's canary now fails, and A writes so.
  answer(REFUSED);
  for (let i = 0; i < 100 && (await stored(idOf(started))).status === 'canary'; i++) await sleep(10);
  goOn();
  await settled;
  expect(await stored(idOf(started))).toMatchObject(FAILED);
});
