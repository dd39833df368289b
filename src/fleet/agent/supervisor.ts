// Runs the fleet agent while the configuration has a fleet section, across
// reloads: started when one appears, stopped when it goes, redialled when the
// hub's address or the token file changes. Starts and stops run one after the
// other, never overlapping, so two agents never share the spool.
import type { Logger } from 'pino';
import type { LoadedConfig } from '../../../edge-config/load.js';
import { FleetAgent, type FleetConfig } from './agent.js';
import type { AgentHost } from './host.js';

export class FleetSupervisor {
  readonly #host: AgentHost;
  readonly #logger: Logger;
  #agent: FleetAgent | undefined;
  #fleet: FleetConfig | undefined;
  #ops: Promise<void> = Promise.resolve();

  constructor(host: AgentHost, logger: Logger) {
    this.#host = host;
    this.#logger = logger;
  }

  /** Follows `loaded`'s fleet section; answers the fleet settings that only a restart applies. */
  apply(loaded: LoadedConfig): string[] {
    const had = this.#fleet;
    const want = loaded.config.fleet;
    this.#fleet = want;
    if (!had && want) {
      this.#queue(async () => {
        const agent = new FleetAgent(this.#host, this.#logger);
        this.#agent = agent;
        await agent.start();
      }, 'cannot start the fleet agent');
    } else if (had && !want) {
      this.#queue(() => this.#stopAgent(), 'cannot stop the fleet agent');
    } else if (had && want) {
      if (had.hubUrl !== want.hubUrl || had.tokenFile !== want.tokenFile) this.#queue(async () => this.#agent?.redial(), 'cannot redial the fleet hub');
      if (this.#agent && this.#agent.spoolFile !== want.spoolPath) return ['fleet.spoolPath'];
    }
    return [];
  }

  async close(): Promise<void> {
    this.#fleet = undefined;
    this.#queue(() => this.#stopAgent(), 'cannot stop the fleet agent');
    await this.#ops;
  }

  async #stopAgent(): Promise<void> {
    const agent = this.#agent;
    this.#agent = undefined;
    await agent?.stop();
  }

  #queue(op: () => Promise<void>, failure: string): void {
    this.#ops = this.#ops.then(op).catch((e: Error) => this.#logger.error({ err: e }, failure));
  }
}
