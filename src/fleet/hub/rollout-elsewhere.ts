// What a rollout sees of the gateways other hub replicas hold (PostgreSQL):
// which are connected, which replicas are alive, and, for a gateway held
// elsewhere, how it took the config — read from what its holder writes to the
// database (the desired row, its last report, its events). Its holder sends it
// the config when told; this replica only reads the outcome.
import type { Who } from './commands.js';
import { remoteObservations } from './remote-canary.js';
import type { CanaryWatch } from './rollout.js';
import type { DesiredConfigs } from './store/desired-configs.js';
import type { EventLog } from './store/events.js';
import type { GatewayRegistry } from './store/registry.js';

/** The other hub replicas, as a rollout sees them. */
export interface OtherReplicas {
  /** This replica's id. */
  id: string;
  /** The gateways a live replica holds. */
  online(): Promise<Set<string>>;
  isLive(replicaId: string): Promise<boolean>;
  /** Asks the replica holding the gateway to bring it to its desired config. */
  push(gatewayId: string, who: Who): Promise<void>;
}

/** How applying the config to one of the rest went. */
export type RestResult = { applied: true } | { pending: true } | { failure: string };

/** How often the outcome of a gateway held elsewhere is read. */
const POLL_MS = 200;

export class RolloutElsewhere {
  readonly #replicas: OtherReplicas;
  readonly #gateways: GatewayRegistry;
  readonly #configs: DesiredConfigs;
  readonly #events: EventLog;

  constructor(deps: { replicas: OtherReplicas; gateways: GatewayRegistry; configs: DesiredConfigs; events: EventLog }) {
    this.#replicas = deps.replicas;
    this.#gateways = deps.gateways;
    this.#configs = deps.configs;
    this.#events = deps.events;
  }

  get replicaId(): string {
    return this.#replicas.id;
  }

  online(): Promise<Set<string>> {
    return this.#replicas.online();
  }

  /** Whether `replica` is another replica, alive. */
  async isOtherLive(replica: string | undefined): Promise<boolean> {
    return replica !== undefined && replica !== this.#replicas.id && (await this.#replicas.isLive(replica));
  }

  /** Tells the gateway's holder to send it its desired config; false when no live replica holds it. */
  async push(gatewayId: string, who: Who): Promise<boolean> {
    if (!(await this.#replicas.online()).has(gatewayId)) return false;
    await this.#replicas.push(gatewayId, who);
    return true;
  }

  /** Tells each watch what its canary, held elsewhere, did since `since`. */
  async observe(watches: readonly CanaryWatch[], version: string, since: number): Promise<void> {
    if (watches.length === 0) return;
    const online = await this.#replicas.online();
    for (const w of watches) {
      const [gateway, desired, events] = await Promise.all([this.#gateways.get(w.id), this.#configs.get(w.id), this.#events.recent(w.id, 20)]);
      const recent = events.filter((e) => e.ts >= since).map((e) => e.event);
      const now = Date.now();
      for (const o of remoteObservations(version, { online: online.has(w.id), gateway, desired, events: recent })) w.observe(o, now);
    }
  }

  /**
   * How a gateway held elsewhere took `version`, as its holder records it in
   * the desired row: read until the holder recorded an answer, or it had
   * `timeoutMs` (the holder's own wait for the answer) and a little more.
   */
  async outcome(gatewayId: string, version: string, timeoutMs: number, stopped: () => boolean): Promise<RestResult> {
    const deadline = Date.now() + timeoutMs + 5 * POLL_MS;
    while (!stopped()) {
      const d = await this.#configs.get(gatewayId);
      if (d?.version !== version) return { failure: 'its desired config was changed during the rollout' };
      if (d.applyStatus === 'applied') return { applied: true };
      if (d.applyStatus === 'failed') return { failure: `config.apply failed: ${d.applyError ?? 'refused'}` };
      if (d.applyStatus === 'sent' && d.applyError !== null) return { failure: 'no answer to config.apply in time' };
      // Recorded pending: the gateway left before it answered (sent again at its hello), or the holder was busy.
      if (d.applyStatus === 'pending' && d.applyAt !== null) return d.applyError === null ? { pending: true } : { failure: d.applyError };
      if (Date.now() > deadline) return { failure: 'no answer to config.apply in time' };
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    return { pending: true };
  }
}
