// A staged config rollout's decisions: which gateways are the canaries, and
// whether a canary that was sent the new config is healthy. A canary passes
// when it reports the new config version and then stays healthy for
// healthyForMs: no path that was up before goes down, no journal error, no
// rollback, not gone from the hub for longer than that. Pure (clock injected).
import type { PathTelemetry } from '../protocol.js';

export type CanarySpec = { ids: string[] } | { count: number };

export type Plan = { ok: true; canaries: string[]; rest: string[] } | { ok: false; message: string };

/** Canaries are named, or the first `count` connected targets by id; every other target is the rest. */
export function planRollout(targets: readonly { id: string; online: boolean }[], spec: CanarySpec): Plan {
  const byId = new Map(targets.map((t) => [t.id, t]));
  let canaries: string[];
  if ('ids' in spec) {
    const notTargets = spec.ids.filter((id) => !byId.has(id));
    if (notTargets.length > 0) return { ok: false, message: `canaries not among the rollout's gateways: ${notTargets.join(', ')}` };
    const offline = spec.ids.filter((id) => !byId.get(id)!.online);
    if (offline.length > 0) return { ok: false, message: `canaries must be connected: ${offline.join(', ')} ${offline.length === 1 ? 'is' : 'are'} offline` };
    canaries = [...new Set(spec.ids)];
  } else {
    const online = targets.filter((t) => t.online).map((t) => t.id).sort();
    if (online.length < spec.count) return { ok: false, message: `${spec.count} canaries asked for, ${online.length} of the rollout's gateways are connected` };
    canaries = online.slice(0, spec.count);
  }
  const chosen = new Set(canaries);
  return { ok: true, canaries, rest: targets.map((t) => t.id).filter((id) => !chosen.has(id)).sort() };
}

export type Observation =
  /** The gateway's answer to config.apply: a gateway answers after its own health check. */
  | { kind: 'answer'; ok: boolean; error?: string }
  /** config.apply went unanswered (timed out, or the connection dropped): the reports decide alone. */
  | { kind: 'no_answer' }
  /** A hello or telemetry. */
  | { kind: 'report'; configVersion: string; paths: readonly Pick<PathTelemetry, 'name' | 'state'>[] }
  | { kind: 'event'; event: string }
  | { kind: 'offline' }
  | { kind: 'online' };

export type CanaryState = 'applying' | 'watching' | 'healthy' | 'failed';

export interface CanaryVerdict {
  state: CanaryState;
  reason?: string;
}

export class CanaryWatch {
  readonly id: string;
  readonly #version: string;
  readonly #baselineUp: Set<string>;
  readonly #startedAt: number;
  readonly #healthyForMs: number;
  readonly #applyDeadlineMs: number;
  #answeredAt: number | undefined;
  #noAnswer = false;
  #reportedAt: number | undefined;
  #offlineSince: number | undefined;
  #failure: string | undefined;
  reported: string | undefined;

  /** `baselineUp`: the paths that were up when the rollout started. */
  constructor(id: string, version: string, baselineUp: readonly string[], startedAt: number, healthyForMs: number, applyDeadlineMs: number) {
    this.id = id;
    this.#version = version;
    this.#baselineUp = new Set(baselineUp);
    this.#startedAt = startedAt;
    this.#healthyForMs = healthyForMs;
    this.#applyDeadlineMs = applyDeadlineMs;
  }

  observe(o: Observation, now: number): void {
    if (this.#failure !== undefined) return;
    switch (o.kind) {
      case 'answer':
        if (!o.ok) this.#failure = `config.apply failed: ${o.error ?? 'refused'}`;
        else this.#answeredAt ??= now;
        break;
      case 'no_answer':
        this.#noAnswer = true;
        break;
      case 'report': {
        this.reported = o.configVersion;
        if (o.configVersion === this.#version) this.#reportedAt ??= now;
        else if (this.#reportedAt !== undefined) this.#failure = `went back to config ${o.configVersion}`;
        const lost = o.paths.find((p) => p.state === 'down' && this.#baselineUp.has(p.name));
        if (lost) this.#failure = `path ${lost.name} went down`;
        break;
      }
      case 'event':
        if (o.event === 'config.rolled_back') this.#failure = 'the gateway rolled the config back';
        if (o.event === 'journal.error') this.#failure = 'journal error';
        break;
      case 'offline':
        this.#offlineSince ??= now;
        break;
      case 'online':
        this.#offlineSince = undefined;
        break;
    }
  }

  verdict(now: number): CanaryVerdict {
    if (this.#failure === undefined && this.#offlineSince !== undefined && now - this.#offlineSince > this.#healthyForMs) {
      this.#failure = `offline for more than ${this.#healthyForMs} ms`;
    }
    if (this.#failure === undefined && this.#reportedAt === undefined && now - this.#startedAt > this.#applyDeadlineMs) {
      this.#failure = `did not report the new config within ${this.#applyDeadlineMs} ms`;
    }
    if (this.#failure !== undefined) return { state: 'failed', reason: this.#failure };
    if (this.#reportedAt === undefined) return { state: 'applying' };
    // The watch starts with the first sign of the new config: its answer, or its report. It ends no
    // sooner than the gateway's own health check (its answer), which may still roll the config back.
    const since = Math.min(this.#reportedAt, this.#answeredAt ?? Infinity);
    const answered = this.#answeredAt !== undefined || this.#noAnswer;
    return answered && this.#offlineSince === undefined && now - since >= this.#healthyForMs ? { state: 'healthy' } : { state: 'watching' };
  }
}
