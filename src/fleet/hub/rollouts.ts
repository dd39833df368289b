// Staged config rollouts: the new config becomes the canaries' desired config;
// only when every canary reported it and stayed healthy for healthyForMs does
// it become the desired config of the rest, a few gateways at a time, stopping
// when more than maxFailures of them fail. A failed canary stage puts the
// canaries' previous desired config back and leaves the rest untouched. One
// rollout at a time; its state is kept in the hub database.
//
// With several hub replicas (PostgreSQL) a rollout runs on the replica it was
// started on, one at a time across them all. A gateway another replica holds
// is brought to its desired config by that replica (DesiredState there sends
// config.apply and records the answer in the desired row); this one reads the
// outcome, and a canary's reports and events, from the database each turn
// (remote-canary.ts). A rollout whose replica died is taken over by another
// (rollout-takeover.ts): the canary stage starts again, the rolling stage goes
// on with the gateways not reached yet.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Who } from './commands.js';
import type { Connections } from './connections.js';
import { checkDesiredConfig } from './desired-config.js';
import type { ApplyOutcome, DesiredState } from './desired.js';
import { RolloutElsewhere, type OtherReplicas, type RestResult } from './rollout-elsewhere.js';
import { restAfterTakeover } from './rollout-takeover.js';
import { CanaryWatch, planRollout, type CanarySpec, type CanaryState, type Observation } from './rollout.js';
import { selects, type Selector } from './select.js';
import type { DesiredConfigs, DesiredRecord } from './store/desired-configs.js';
import type { EventLog } from './store/events.js';
import type { GatewayRegistry } from './store/registry.js';
import type { RolloutStates } from './store/rollout-states.js';

export interface RolloutRequest {
  yaml: string;
  selector: Selector;
  canary: CanarySpec;
  healthyForMs: number;
  graceMs?: number | undefined;
  maxFailures: number;
}

export type RolloutStatus = 'canary' | 'rolling' | 'completed' | 'failed' | 'interrupted';

export interface RolloutState {
  id: string;
  status: RolloutStatus;
  reason?: string;
  version: string;
  selector: Selector;
  healthyForMs: number;
  graceMs?: number;
  maxFailures: number;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  canaries: { id: string; state: CanaryState; reason?: string; reported?: string }[];
  /** The gateways after the canaries. pending: desired config set, applied when the gateway connects. */
  rest: { total: number; applied: number; pending: number; failed: number; inFlight: number; untouched: number };
  /** The first failures among the rest. */
  failures: { id: string; reason: string }[];
  /** The hub replica running it, with several (PostgreSQL). */
  replica?: string;
}

/**
 * The state as stored: in the canary stage also the canaries' desired configs
 * from before (null: none), for a replica taking the stage over to put back
 * if a canary fails. Not shown by the API.
 */
interface StoredState extends RolloutState {
  previous?: { id: string; desired: { yaml: string; version: string } | null }[];
}


export type StartResult = { ok: true; state: RolloutState } | { ok: false; status: 400 | 409; message: string; problems?: string[] };

interface Active {
  state: RolloutState;
  yaml: string;
  who: Who;
  watches: CanaryWatch[];
  previous: Map<string, Pick<DesiredRecord, 'yaml' | 'version'> | undefined>;
  rest: string[];
  timer?: NodeJS.Timeout;
  /** A turn is reading remote canaries from the database: the next waits for it. */
  reading?: boolean;
}

const MAX_LISTED_FAILURES = 100;
const INTERRUPTED = 'the hub stopped during the rollout; desired configs already set stay set';
const NO_CONFIG = 'the hub replica running the rollout stopped, and the rollout\'s config is no longer desired for any of its gateways; desired configs already set stay set';

export class Rollouts {
  readonly #gateways: GatewayRegistry;
  readonly #states: RolloutStates;
  readonly #configs: DesiredConfigs;
  readonly #elsewhere: RolloutElsewhere | undefined;
  readonly #desired: DesiredState;
  readonly #connections: Connections;
  readonly #logger: Logger;
  readonly #concurrency: number;
  readonly #applyTimeoutMs: number;
  #active: Active | undefined;
  #closed = false;
  /** With replicas: looks for rollouts whose replica died. */
  #orphans: NodeJS.Timeout | undefined;
  /** One look at the running rollouts at a time: two would take one over twice. */
  #settling: Promise<RolloutState | undefined> = Promise.resolve(undefined);
  /** The last state write asked for: a start waits for it, or a rollout just ended would still read as running. */
  #saved: Promise<void> = Promise.resolve();

  constructor(deps: {
    gateways: GatewayRegistry;
    states: RolloutStates;
    configs: DesiredConfigs;
    events: EventLog;
    replicas?: OtherReplicas | undefined;
    desired: DesiredState;
    connections: Connections;
    logger: Logger;
    concurrency: number;
    applyTimeoutMs: number;
  }) {
    this.#gateways = deps.gateways;
    this.#states = deps.states;
    this.#configs = deps.configs;
    this.#elsewhere = deps.replicas && new RolloutElsewhere({ replicas: deps.replicas, gateways: deps.gateways, configs: deps.configs, events: deps.events });
    this.#desired = deps.desired;
    this.#connections = deps.connections;
    this.#logger = deps.logger;
    this.#concurrency = deps.concurrency;
    this.#applyTimeoutMs = deps.applyTimeoutMs;
  }

  /**
   * At startup, and with replicas every `orphanCheckMs` after: a rollout
   * running when its replica stopped is taken over (with replicas) or marked
   * interrupted.
   */
  async settleAtStart(orphanCheckMs?: number): Promise<void> {
    await this.#settleRunning();
    if (this.#elsewhere && orphanCheckMs !== undefined && !this.#closed) {
      this.#orphans = setInterval(() => void this.#settleRunning().catch((e: unknown) => this.#logger.error({ err: e }, 'cannot look for rollouts whose hub replica stopped')), orphanCheckMs);
      this.#orphans.unref();
    }
  }

  /**
   * A rollout another live replica runs, if any. A running rollout whose
   * replica is gone is taken over on the way when this replica runs none (or
   * marked interrupted when it cannot be: one hub, or its config is gone).
   */
  #settleRunning(): Promise<RolloutState | undefined> {
    this.#settling = this.#settling.catch(() => undefined).then(() => this.#settleOnce());
    return this.#settling;
  }

  async #settleOnce(): Promise<RolloutState | undefined> {
    for (const r of await this.#states.running()) {
      const state = r.state as StoredState;
      // A row this replica wrote is being started or ending here (its last write
      // not in yet), never an orphan: taking it for one interrupted a rollout that
      // had just failed, over its own reason.
      if (state.replica !== undefined && state.replica === this.#elsewhere?.replicaId) continue;
      if (await this.#elsewhere?.isOtherLive(state.replica)) return state;
      if (this.#closed) return undefined;
      if (!this.#elsewhere || state.replica === undefined) await this.#interrupt(state, r.text, INTERRUPTED);
      // One rollout runs at a time: one taken over here waits while another runs here.
      else if (this.#active === undefined && (await this.#takeOver(state, r.text)) === 'no config') await this.#interrupt(state, r.text, NO_CONFIG);
    }
    return undefined;
  }

  /** A start refused for `other`, the running rollout stored first; undefined when that one ended as this start lost to it. */
  #refused(other: StoredState | undefined): StartResult {
    if (!other) return { ok: false, status: 409, message: 'another rollout was started at the same moment; try again' };
    const where = other.replica !== undefined && other.replica !== this.#elsewhere?.replicaId ? ' on another hub replica' : '';
    return { ok: false, status: 409, message: `rollout ${other.id} is still running (${other.status})${where}` };
  }

  /** Runs the rollout here from its stored state; 'elsewhere' when another replica claimed it first. */
  async #takeOver(stored: StoredState, text: string): Promise<'here' | 'elsewhere' | 'no config'> {
    const { previous: storedPrevious, ...was } = stored;
    const canaries = was.canaries.map((c) => c.id);
    const targets = (await this.#gateways.list()).filter((g) => selects(was.selector, g));
    // One read, not one per target: a rollout may span a region of thousands behind the store's one connection.
    const desired = new Map((await this.#configs.all()).map((d) => [d.gatewayId, d]));
    const yaml = [...canaries, ...targets.map((g) => g.id)].map((id) => desired.get(id)).find((d) => d?.version === was.version)?.yaml;
    if (yaml === undefined) return 'no config';
    const stage = was.status === 'canary' ? 'canary' : 'rolling';
    const left = restAfterTakeover(
      stage,
      was.version,
      was.rest,
      targets.map((g) => g.id).filter((id) => !canaries.includes(id)),
      desired,
    );
    const now = Date.now();
    const state: RolloutState = { ...was, rest: left.counts, replica: this.#elsewhere!.replicaId, updatedAt: now };
    if (stage === 'canary') state.canaries = was.canaries.map(({ id }) => ({ id, state: 'applying' as const }));
    const previous = new Map(storedPrevious?.map((p) => [p.id, p.desired ?? undefined]));
    if (!(await this.#states.claim(was.id, text, { status: state.status, state: this.#stored(state, previous) }))) return 'elsewhere';
    if (this.#active || this.#closed) return 'here';
    const deadline = this.#applyTimeoutMs + (was.graceMs ?? 0);
    const paths = new Map(targets.map((g) => [g.id, g.paths]));
    const active: Active = {
      state,
      yaml,
      who: { name: `rollout ${was.id} (${was.createdBy})`, role: 'rollout' },
      watches: stage === 'canary' ? canaries.map((id) => new CanaryWatch(id, was.version, upPaths(this.#connections.get(id)?.reported?.paths ?? paths.get(id)), now, was.healthyForMs, deadline)) : [],
      previous,
      rest: left.queue,
    };
    this.#active = active;
    this.#logger.warn({ rollout: was.id, from: was.replica, stage, left: left.queue.length }, 'took over a rollout whose hub replica stopped');
    if (stage === 'canary') this.#watchCanaries(active);
    else void this.#rollRest(active).catch((e: unknown) => this.#logger.error({ rollout: was.id, err: e }, 'rollout failed'));
    return 'here';
  }

  /** Only if the row is still as read: a replica that wrote since is alive after all. */
  async #interrupt(stored: StoredState, text: string, reason: string): Promise<void> {
    const { previous: _previous, ...state } = stored;
    await this.#states.claim(state.id, text, { status: 'interrupted', state: { ...state, status: 'interrupted', reason, updatedAt: Date.now() } });
  }

  async start(req: RolloutRequest, who: Who): Promise<StartResult> {
    const running = () => this.#active && ({ ok: false, status: 409, message: `rollout ${this.#active.state.id} is still running (${this.#active.state.status})` } as const);
    const before = running();
    if (before) return before;
    await this.#saved;
    // One hub has nothing to look at after its start: every running row is its own.
    if (this.#elsewhere) {
      const elsewhere = await this.#settleRunning();
      if (elsewhere) return this.#refused(elsewhere);
      // A rollout whose replica died may have just been taken over here.
      const taken = running();
      if (taken) return taken;
    }
    const heldElsewhere = (await this.#elsewhere?.online()) ?? new Set<string>();
    const selected = (await this.#gateways.list()).filter((g) => selects(req.selector, g));
    const targets = selected.map((g) => ({ id: g.id, online: this.#connections.get(g.id) !== undefined || heldElsewhere.has(g.id) }));
    const reportedPaths = new Map(selected.map((g) => [g.id, g.paths]));
    if (targets.length === 0) return { ok: false, status: 400, message: 'no gateway matches the rollout\'s region/tag' };
    const check = checkDesiredConfig(
      req.yaml,
      targets.map((t) => t.id),
      'rollout',
    );
    if (!check.ok) return { ok: false, status: 400, message: 'the config is not valid for these gateways', problems: check.problems };
    const plan = planRollout(targets, req.canary);
    if (!plan.ok) return { ok: false, status: 400, message: plan.message };

    const now = Date.now();
    const state: RolloutState = {
      id: randomUUID(),
      status: 'canary',
      version: check.version,
      selector: req.selector,
      healthyForMs: req.healthyForMs,
      ...(req.graceMs !== undefined && { graceMs: req.graceMs }),
      maxFailures: req.maxFailures,
      createdBy: who.name,
      createdAt: now,
      updatedAt: now,
      canaries: plan.canaries.map((id) => ({ id, state: 'applying' as const })),
      rest: { total: plan.rest.length, applied: 0, pending: 0, failed: 0, inFlight: 0, untouched: plan.rest.length },
      failures: [],
      ...(this.#elsewhere && { replica: this.#elsewhere.replicaId }),
    };
    const previous = new Map<string, DesiredRecord | undefined>();
    for (const id of plan.canaries) previous.set(id, await this.#configs.get(id));
    // Stored before it is answered, and refused by the database when another
    // start, here or through another replica, stored its rollout first.
    if (!(await this.#states.begin({ id: state.id, createdAt: now, status: state.status, state: this.#stored(state, previous) }))) {
      return running() || this.#refused((await this.#states.running())[0]?.state as StoredState | undefined);
    }
    const deadline = this.#applyTimeoutMs + (req.graceMs ?? 0);
    const active: Active = {
      state,
      yaml: req.yaml,
      who: { name: `rollout ${state.id} (${who.name})`, role: 'rollout' },
      watches: plan.canaries.map((id) => {
        return new CanaryWatch(id, check.version, upPaths(this.#connections.get(id)?.reported?.paths ?? reportedPaths.get(id)), now, req.healthyForMs, deadline);
      }),
      previous,
      rest: plan.rest,
    };
    this.#active = active;
    this.#logger.info({ rollout: state.id, version: state.version, canaries: plan.canaries, rest: plan.rest.length, by: who.name }, 'rollout started');

    this.#watchCanaries(active);
    return { ok: true, state };
  }

  /** Sends the canaries the config and judges them each turn. */
  #watchCanaries(active: Active): void {
    for (const w of active.watches) {
      // Held by another replica: that one sends it, and the turns read how it went.
      void this.#apply(w.id, active).then((o) => this.#guard(() => o && this.#canaryAnswered(active, w, o)));
    }
    active.timer = setInterval(() => void this.#turn(active), Math.max(20, Math.min(1000, active.state.healthyForMs / 4)));
  }

  async get(id: string): Promise<RolloutState | undefined> {
    if (this.#active?.state.id === id) return this.#active.state;
    const stored = (await this.#states.get(id)) as StoredState | undefined;
    if (!stored) return undefined;
    const { previous: _previous, ...state } = stored;
    return state;
  }

  /**
   * Makes the config the gateway's desired one. Its outcome, or undefined when
   * another replica holds the gateway and was asked to send it.
   */
  async #apply(id: string, active: Active): Promise<ApplyOutcome | undefined> {
    const o = await this.#desired.set(id, active.yaml, active.state.version, active.who, active.state.graceMs);
    return o.status === 'offline' && (await this.#elsewhere?.push(id, active.who)) ? undefined : o;
  }

  /** A turn of the canary stage: canaries other replicas hold are read from the database, then judged. */
  async #turn(active: Active): Promise<void> {
    if (active.reading || this.#closed) return;
    active.reading = true;
    try {
      await this.#readRemoteCanaries(active);
    } catch (e) {
      this.#logger.error({ rollout: active.state.id, err: e }, 'cannot read the canaries other hub replicas hold; tried again at the next turn');
    } finally {
      active.reading = false;
    }
    this.#guard(() => this.#checkCanaries(active));
  }

  async #readRemoteCanaries(active: Active): Promise<void> {
    if (active.state.status !== 'canary') return;
    await this.#elsewhere?.observe(
      active.watches.filter((w) => this.#connections.get(w.id) === undefined),
      active.state.version,
      active.state.createdAt,
    );
  }

  /** What a gateway reported; only the canaries of the running rollout care. */
  observe(gatewayId: string, o: Observation): void {
    const active = this.#active;
    if (active?.state.status !== 'canary') return;
    const w = active.watches.find((x) => x.id === gatewayId);
    if (!w) return;
    w.observe(o, Date.now());
  }

  /**
   * At shutdown: a running rollout is recorded as interrupted on one hub; with
   * replicas it is left running, for another to take over (an upgrade rolls
   * the pods one by one).
   */
  close(): void {
    this.#closed = true;
    clearInterval(this.#orphans);
    const active = this.#active;
    if (!active) return;
    clearInterval(active.timer);
    if (this.#elsewhere) this.#save(active);
    else this.#finish(active, 'interrupted', INTERRUPTED);
  }

  #canaryAnswered(active: Active, w: CanaryWatch, o: ApplyOutcome): void {
    const now = Date.now();
    switch (o.status) {
      case 'answered':
        w.observe({ kind: 'answer', ok: o.ok, ...(o.error && { error: `${o.error.code}: ${o.error.message}` }) }, now);
        break;
      case 'in_sync': {
        const reported = this.#connections.get(w.id)?.reported;
        w.observe({ kind: 'answer', ok: true }, now);
        if (reported) w.observe({ kind: 'report', configVersion: reported.configVersion, paths: reported.paths }, now);
        break;
      }
      case 'timeout':
      case 'disconnected':
        // Its reports (or their absence until the deadline) decide.
        w.observe({ kind: 'no_answer' }, now);
        break;
      default:
        w.observe({ kind: 'answer', ok: false, error: o.status === 'busy' ? o.reason : `could not be sent (${o.status})` }, now);
    }
    this.#checkCanaries(active);
  }

  #checkCanaries(active: Active): void {
    if (active.state.status !== 'canary' || this.#active !== active) return;
    const now = Date.now();
    const verdicts = active.watches.map((w) => ({ w, v: w.verdict(now) }));
    active.state.canaries = verdicts.map(({ w, v }) => ({ id: w.id, state: v.state, ...(v.reason !== undefined && { reason: v.reason }), ...(w.reported !== undefined && { reported: w.reported }) }));
    const failed = verdicts.find(({ v }) => v.state === 'failed');
    if (failed) {
      clearInterval(active.timer);
      for (const w of active.watches) this.#desired.revert(w.id, active.previous.get(w.id), active.who);
      this.#logger.warn({ rollout: active.state.id, canary: failed.w.id, reason: failed.v.reason }, 'rollout stopped: a canary failed; the other gateways are untouched');
      this.#finish(active, 'failed', `canary ${failed.w.id}: ${failed.v.reason}`);
      return;
    }
    if (verdicts.every(({ v }) => v.state === 'healthy')) {
      clearInterval(active.timer);
      active.state.status = 'rolling';
      this.#save(active);
      this.#logger.info({ rollout: active.state.id, rest: active.rest.length }, 'canaries healthy; rolling out to the rest');
      void this.#rollRest(active).catch((e: unknown) => this.#logger.error({ rollout: active.state.id, err: e }, 'rollout failed'));
    }
  }

  async #rollRest(active: Active): Promise<void> {
    const queue = [...active.rest];
    const rest = active.state.rest;
    let stopped: string | undefined;
    const worker = async () => {
      while (queue.length > 0 && stopped === undefined && !this.#closed) {
        const id = queue.shift()!;
        rest.untouched--;
        rest.inFlight++;
        const o = await this.#apply(id, active);
        const result = o ? this.#restOutcome(o) : await this.#elsewhere!.outcome(id, active.state.version, this.#applyTimeoutMs + (active.state.graceMs ?? 0), () => this.#closed);
        if (this.#closed) return;
        rest.inFlight--;
        if ('applied' in result) rest.applied++;
        else if ('pending' in result) rest.pending++;
        else {
          const failure = result.failure;
          rest.failed++;
          if (active.state.failures.length < MAX_LISTED_FAILURES) active.state.failures.push({ id, reason: failure });
          if (rest.failed > active.state.maxFailures) stopped = `${rest.failed} gateways failed (more than maxFailures ${active.state.maxFailures}); the others are untouched`;
        }
        this.#save(active);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, queue.length) }, worker));
    if (this.#closed) return;
    if (stopped !== undefined) this.#logger.warn({ rollout: active.state.id, reason: stopped }, 'rollout stopped');
    else this.#logger.info({ rollout: active.state.id, ...rest }, 'rollout completed');
    this.#finish(active, stopped === undefined ? 'completed' : 'failed', stopped);
  }

  #restOutcome(o: ApplyOutcome): RestResult {
    switch (o.status) {
      case 'answered':
        return o.ok ? { applied: true } : { failure: `config.apply failed: ${o.error ? `${o.error.code}: ${o.error.message}` : 'refused'}` };
      case 'timeout':
        return { failure: 'no answer to config.apply in time' };
      case 'busy':
        return { failure: o.reason };
      case 'not_retried':
        return { failure: `refused this config before: ${o.error ?? 'failed'}` };
      case 'offline':
      case 'disconnected':
        return { pending: true };
      default:
        return { applied: true };
    }
  }

  #finish(active: Active, status: RolloutStatus, reason: string | undefined): void {
    active.state.status = status;
    if (reason !== undefined) active.state.reason = reason;
    this.#save(active);
    if (this.#active === active) this.#active = undefined;
  }

  /** Not waited for: saves are written in the order asked, and the rollout goes on from its state in memory. */
  #save(active: Active): void {
    active.state.updatedAt = Date.now();
    this.#saved = this.#states
      .save({ id: active.state.id, createdAt: active.state.createdAt, status: active.state.status, state: this.#stored(active.state, active.previous) })
      .catch((e: unknown) => this.#logger.error({ rollout: active.state.id, err: e }, 'cannot save the rollout state'));
  }

  /** In the canary stage, with replicas, the state keeps the canaries' previous configs for a replica taking over. */
  #stored(state: RolloutState, previous: Active['previous']): StoredState {
    if (state.status !== 'canary' || !this.#elsewhere) return state;
    return { ...state, previous: [...previous].map(([id, d]) => ({ id, desired: d ? { yaml: d.yaml, version: d.version } : null })) };
  }

  /** Timer and promise callbacks: a failure is logged, never an unhandled rejection. */
  #guard(fn: () => void): void {
    if (this.#closed) return;
    try {
      fn();
    } catch (e) {
      this.#logger.error({ err: e }, 'rollout step failed');
    }
  }
}

/** The paths a gateway reported up: a canary must keep them up. */
function upPaths(paths: readonly { name: string; state: string }[] | undefined): string[] {
  return (paths ?? []).filter((p) => p.state === 'up').map((p) => p.name);
}
