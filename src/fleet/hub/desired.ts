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
    this.#configs.set({ gatewayId, yaml, version, setBy: who.name, setAt: Date.now() });
    return this.#reconcile(gatewayId, who, graceMs);
  }

  /** Puts back what was desired before (a failed rollout's canaries), or nothing. */
  revert(gatewayId: string, previous: DesiredRecord | undefined, who: Who): void {
    if (previous === undefined) {
      this.#configs.clear(gatewayId);
      return;
    }
    void this.set(gatewayId, previous.yaml, previous.version, who);
  }

  /** A gateway said hello: bring it to its desired config. */
  connected(gatewayId: string): void {
    void this.#reconcile(gatewayId, HUB);
  }

  /** The gateway undid a config it was sent (details.version names it): that version is not pushed again by itself. */
  rolledBack(gatewayId: string, details: Record<string, unknown>): void {
    const d = this.#configs.get(gatewayId);
    if (!d || (typeof details.version === 'string' ? details.version !== d.version : this.#connections.get(gatewayId)?.reported?.configVersion === d.version)) return;
    const reason = typeof details.reason === 'string' ? details.reason : 'the gateway rolled the config back';
    this.#configs.setApplyStatus(gatewayId, d.version, 'failed', reason, Date.now());
  }

  view(gatewayId: string, reported: string | undefined): DesiredView {
    const d = this.#configs.get(gatewayId);
    if (!d) return { desired: null, reported: reported ?? null, inSync: null };
    const { gatewayId: _id, yaml: _yaml, ...desired } = d;
    return { desired, reported: reported ?? null, inSync: reported === d.version };
  }

  #reconcile(gatewayId: string, who: Who, graceMs?: number): Promise<ApplyOutcome> {
    const d = this.#configs.get(gatewayId);
    if (!d) return Promise.resolve({ status: 'none' });
    const conn = this.#connections.get(gatewayId);
    if (!conn) return Promise.resolve({ status: 'offline' });
    if (conn.reported?.configVersion === d.version) {
      if (d.applyStatus !== 'applied') this.#configs.setApplyStatus(gatewayId, d.version, 'applied', null, Date.now());
      return Promise.resolve({ status: 'in_sync' });
    }
    if (d.applyStatus === 'failed') return Promise.resolve({ status: 'not_retried', error: d.applyError });
    const inFlight = this.#applying.get(gatewayId);
    if (inFlight?.version === d.version) return inFlight.outcome;

    this.#configs.setApplyStatus(gatewayId, d.version, 'sent', null, Date.now());
    this.#logger.info({ gateway: gatewayId, version: d.version, reported: conn.reported?.configVersion, by: who.name }, 'sending the desired config');
    const args = { yaml: d.yaml, ...(graceMs !== undefined && { graceMs }) };
    const outcome = this.#commands.send(gatewayId, 'config.apply', args, who, this.#applyTimeoutMs + (graceMs ?? 0), d.version).then((o) => {
      if (this.#applying.get(gatewayId)?.outcome === outcome) this.#applying.delete(gatewayId);
      try {
        this.#record(gatewayId, d.version, o);
      } catch (e) {
        this.#logger.error({ gateway: gatewayId, err: e }, 'cannot record how applying the desired config went');
      }
      return o;
    });
    this.#applying.set(gatewayId, { version: d.version, outcome });
    return outcome;
  }

  #record(gatewayId: string, version: string, o: CommandOutcome): void {
    const now = Date.now();
    switch (o.status) {
      case 'answered':
        if (o.ok) this.#configs.setApplyStatus(gatewayId, version, 'applied', null, now);
        else this.#configs.setApplyStatus(gatewayId, version, 'failed', o.error ? `${o.error.code}: ${o.error.message}` : 'refused by the gateway', now);
        break;
      case 'timeout':
        // It may still apply it; its next report tells.
        this.#configs.setApplyStatus(gatewayId, version, 'sent', `no answer within ${this.#applyTimeoutMs} ms`, now);
        break;
      case 'busy':
        this.#configs.setApplyStatus(gatewayId, version, 'pending', o.reason, now);
        break;
      default:
        // Offline or disconnected: sent again when it says hello.
        this.#configs.setApplyStatus(gatewayId, version, 'pending', null, now);
    }
  }
}
