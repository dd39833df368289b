// Watches every uplink: active HTTP probes through the path (bound to its
// tunnel address when set) and the passive outcomes of real requests feed one
// quality record and one state machine per path. A state change applies to the
// data path at once, through views(), and is logged with the numbers behind it.
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { GatewayConfig, PathConfig } from '../../edge-config/schema.js';
import type { LinkState, PathView } from '../gateway/path-choice.js';
import { LinkStateMachine } from './link-state.js';
import { LinkQuality, isDegraded, type QualitySnapshot } from './quality.js';

export interface PathStatus extends QualitySnapshot {
  name: string;
  state: LinkState;
  /** False for a path without a probe: only real requests inform it. */
  monitored: boolean;
}

interface Watched {
  config: PathConfig;
  quality: LinkQuality;
  machine: LinkStateMachine;
  probe: { pool: Pool; path: string; timer?: NodeJS.Timeout } | undefined;
}

export class LinkMonitor {
  readonly #paths: Watched[];
  readonly #link: GatewayConfig['link'];
  readonly #logger: Logger;

  constructor(paths: readonly PathConfig[], link: GatewayConfig['link'], logger: Logger) {
    this.#link = link;
    this.#logger = logger;
    this.#paths = paths.map((config) => ({
      config,
      quality: new LinkQuality(),
      machine: new LinkStateMachine(link),
      probe: config.probe && probeTarget(config),
    }));
  }

  start(): void {
    for (const w of this.#paths) {
      if (!w.probe || !w.config.probe) continue;
      const { intervalMs } = w.config.probe;
      const tick = () => {
        void this.#probe(w).finally(() => {
          if (w.probe) w.probe.timer = setTimeout(tick, intervalMs).unref();
        });
      };
      tick();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#paths.map(async (w) => {
        if (!w.probe) return;
        clearTimeout(w.probe.timer);
        const pool = w.probe.pool;
        w.probe = undefined;
        await pool.destroy();
      }),
    );
  }

  views(): PathView[] {
    return this.#paths.map((w) => ({
      name: w.config.name,
      allowClasses: w.config.allowClasses,
      metered: w.config.metered,
      state: w.machine.state,
      score: w.quality.snapshot(this.#link.degraded).score,
    }));
  }

  status(): PathStatus[] {
    return this.#paths.map((w) => ({ name: w.config.name, state: w.machine.state, monitored: w.probe !== undefined, ...w.quality.snapshot(this.#link.degraded) }));
  }

  /**
   * A real request's outcome on a path: `reached` is false when the path itself
   * failed (connection refused, reset, unreachable), so that a burst of such
   * failures takes the path down before the next probe would. Only probed
   * paths take it: without a probe nothing would ever bring the path back.
   */
  passive(pathName: string, reached: boolean): void {
    const w = this.#paths.find((p) => p.config.name === pathName);
    if (w?.probe) this.#observe(w, reached, 'request');
  }

  async #probe(w: Watched): Promise<void> {
    const probe = w.probe;
    const cfg = w.config.probe;
    if (!probe || !cfg) return;
    const started = performance.now();
    let ok = false;
    try {
      const res = await probe.pool.request({ method: 'GET', path: probe.path, signal: AbortSignal.timeout(cfg.timeoutMs), headersTimeout: cfg.timeoutMs, bodyTimeout: cfg.timeoutMs });
      await res.body.dump();
      ok = res.statusCode >= 200 && res.statusCode < 300;
    } catch {
      ok = false;
    }
    if (!w.probe) return;
    w.quality.record(ok ? performance.now() - started : null);
    this.#observe(w, ok, 'probe');
  }

  #observe(w: Watched, ok: boolean, source: 'probe' | 'request'): void {
    const q = w.quality.snapshot(this.#link.degraded);
    const change = w.machine.observe(ok, isDegraded(q, this.#link.degraded));
    if (!change) return;
    const log = change.to === 'up' ? this.#logger.info.bind(this.#logger) : this.#logger.warn.bind(this.#logger);
    log(
      {
        path: w.config.name,
        from: change.from,
        to: change.to,
        cause: source,
        rttMs: q.rttMs === undefined ? null : Math.round(q.rttMs * 10) / 10,
        jitterMs: Math.round(q.jitterMs * 10) / 10,
        lossPct: Math.round(q.lossPct),
        score: q.score,
      },
      `path ${w.config.name} is ${change.to.toUpperCase()}`,
    );
  }
}

function probeTarget(config: PathConfig): Watched['probe'] {
  const url = new URL(config.probe!.url);
  const pool = new Pool(url.origin, {
    connections: 1,
    connect: { timeout: config.probe!.timeoutMs, ...(config.localAddress !== undefined && { localAddress: config.localAddress }) },
  });
  return { pool, path: url.pathname + url.search };
}
