// Desired configuration per gateway, as in device shadows: the hub keeps the
// config each gateway should run; a connected gateway that reports another
// version is sent config.apply when it connects and when the desired config
// changes. A version the gateway refused (or rolled back) is not pushed again
// on every reconnect: setting the desired config again retries it.
import type { Logger } from 'pino';
import type { CommandOutcome, Commands, Who } from './commands.js';
import type { Connections } from './connections.js';
import type { DesiredConfigs, DesiredRecord } from './store/desired-configs.js';

export type ApplyOutcome = CommandOutcome | { status: 'in_sync' } | { status: 'not_retried'; error: string | null } | { status: 'none' };

const HUB: Who = { name: 'desired-state', role: 'hub' };

export interface DesiredView {
  desired: Omit<DesiredRecord, 'gatewayId' | 'yaml'> | null;
  reported: string | null;
  /** Null when no config is desired for the gateway. */
  inSync: boolean | null;
}

export class DesiredState {
  readonly #configs: DesiredConfigs;
  readonly #commands: Commands;
  readonly #connections: Connections;
  readonly #logger: Logger;
  readonly #applyTimeoutMs: number;
  /** A config.apply on its way, per gateway: the same version is not sent twice at once. */
  readonly #applying = new Map<string, { version: string; outcome: Promise<ApplyOutcome> }>();

  constructor(deps: { configs: DesiredConfigs; commands: Commands; connections: Connections; logger: Logger; applyTimeoutMs: number }) {
    this.#configs = deps.configs;
    this.#commands = deps.commands;
    this.#connections = deps.connections;
    this.#logger = deps.logger;
    this.#applyTimeoutMs = deps.applyTimeoutMs;
  }

  /** Makes `yaml` the gateway's desired config and pushes it if the gateway is connected. */
  set(gatewayId: string, yaml: string, version: string, who: Who, graceMs?: number): Promise<ApplyOutcome> {
    // Asked for now, before this returns: a read that follows (the answer's view) sees it.
    return this.#configs.set({ gatewayId, yaml, version, setBy: who.name, setAt: Date.now() }).then(
      () => this.#reconcile(gatewayId, who, graceMs),
      (e: unknown): ApplyOutcome => {
        // Callers do not wait for the write (an operator's PUT, a rollout): they learn of it as an outcome.
        this.#logger.error({ gateway: gatewayId, err: e }, 'cannot write the desired config');
        return { status: 'busy', reason: `the hub cannot write the desired config (${(e as Error).message})` };
      },
    );
  }

  /** Puts back what was desired before (a failed rollout's canaries), or nothing. */
  revert(gatewayId: string, previous: Pick<DesiredRecord, 'yaml' | 'version'> | undefined, who: Who): void {
    this.#background(gatewayId, previous === undefined ? this.#configs.clear(gatewayId) : this.set(gatewayId, previous.yaml, previous.version, who));
  }

  /** A gateway said hello: bring it to its desired config. */
  connected(gatewayId: string): void {
    this.#background(gatewayId, this.#reconcile(gatewayId, HUB));
  }

  /** `who` set the gateway's desired config through another hub replica: bring it there if it is connected here. */
  changed(gatewayId: string, who: Who): void {
    this.#background(gatewayId, this.#reconcile(gatewayId, who));
  }

  /** The gateway undid a config it was sent (details.version names it): that version is not pushed again by itself. */
  rolledBack(gatewayId: string, details: Record<string, unknown>): void {
    this.#background(gatewayId, this.#rolledBack(gatewayId, details));
  }

  async #rolledBack(gatewayId: string, details: Record<string, unknown>): Promise<void> {
    const d = await this.#configs.get(gatewayId);
    if (!d || (typeof details.version === 'string' ? details.version !== d.version : this.#connections.get(gatewayId)?.reported?.configVersion === d.version)) return;
    const reason = typeof details.reason === 'string' ? details.reason : 'the gateway rolled the config back';
    await this.#configs.setApplyStatus(gatewayId, d.version, 'failed', reason, Date.now());
  }

  /** What the hub does by itself, on events: a database that fails it is logged, not thrown at the caller. */
  #background(gatewayId: string, work: Promise<unknown>): void {
    work.catch((e: unknown) => this.#logger.error({ gateway: gatewayId, err: e }, 'cannot bring the gateway to its desired config'));
  }

  async view(gatewayId: string, reported: string | undefined): Promise<DesiredView> {
    const d = await this.#configs.get(gatewayId);
    if (!d) return { desired: null, reported: reported ?? null, inSync: null };
    const { gatewayId: _id, yaml: _yaml, ...desired } = d;
    return { desired, reported: reported ?? null, inSync: reported === d.version };
  }

  async #reconcile(gatewayId: string, who: Who, graceMs?: number): Promise<ApplyOutcome> {
    const d = await this.#configs.get(gatewayId);
    // From here to #applying.set nothing waits: two reconciles of one gateway cannot both send.
    if (!d) return { status: 'none' };
    const conn = this.#connections.get(gatewayId);
    if (!conn) return { status: 'offline' };
    if (conn.reported?.configVersion === d.version) {
      if (d.applyStatus !== 'applied') await this.#configs.setApplyStatus(gatewayId, d.version, 'applied', null, Date.now());
      return { status: 'in_sync' };
    }
    if (d.applyStatus === 'failed') return { status: 'not_retried', error: d.applyError };
    const inFlight = this.#applying.get(gatewayId);
    if (inFlight?.version === d.version) return inFlight.outcome;

    // Not waited for: written before the outcome's status, in the order asked.
    this.#background(gatewayId, this.#configs.setApplyStatus(gatewayId, d.version, 'sent', null, Date.now()));
    this.#logger.info({ gateway: gatewayId, version: d.version, reported: conn.reported?.configVersion, by: who.name }, 'sending the desired config');
    const args = { yaml: d.yaml, ...(graceMs !== undefined && { graceMs }) };
    const outcome = this.#commands.send(gatewayId, 'config.apply', args, who, this.#applyTimeoutMs + (graceMs ?? 0), d.version).then(async (o) => {
      if (this.#applying.get(gatewayId)?.outcome === outcome) this.#applying.delete(gatewayId);
      try {
        await this.#record(gatewayId, d.version, o);
      } catch (e) {
        this.#logger.error({ gateway: gatewayId, err: e }, 'cannot record how applying the desired config went');
      }
      return o;
    });
    this.#applying.set(gatewayId, { version: d.version, outcome });
    return outcome;
  }

  #record(gatewayId: string, version: string, o: CommandOutcome): Promise<void> {
    const now = Date.now();
    switch (o.status) {
      case 'answered':
        if (o.ok) return this.#configs.setApplyStatus(gatewayId, version, 'applied', null, now);
        return this.#configs.setApplyStatus(gatewayId, version, 'failed', o.error ? `${o.error.code}: ${o.error.message}` : 'refused by the gateway', now);
      case 'timeout':
        // It may still apply it; its next report tells.
        return this.#configs.setApplyStatus(gatewayId, version, 'sent', `no answer within ${this.#applyTimeoutMs} ms`, now);
      case 'busy':
        return this.#configs.setApplyStatus(gatewayId, version, 'pending', o.reason, now);
      default:
        // Offline or disconnected: sent again when it says hello.
        return this.#configs.setApplyStatus(gatewayId, version, 'pending', null, now);
    }
  }
}
