// Reads one uplink's WireGuard interface at an interval and hands each
// judgement (or the reason it could not be read) to the link monitor.
import { readWireGuard, WireGuardTracker, type WgHealth } from './wireguard.js';

export type WireGuardReading = { ok: true; health: WgHealth } | { ok: false; reason: string };

export class WireGuardWatch {
  readonly #tracker = new WireGuardTracker();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly iface: string,
    private readonly intervalMs: number,
    private readonly onReading: (r: WireGuardReading) => void,
  ) {}

  start(): void {
    const tick = async () => {
      // `wg` answers in milliseconds; a hung one must not stack reads up.
      const read = await readWireGuard(this.iface, { timeoutMs: Math.min(2000, this.intervalMs) });
      if (this.#stopped) return;
      this.onReading(read.ok ? { ok: true, health: this.#tracker.observe({ atMs: Date.now(), dump: read.dump }) } : { ok: false, reason: read.reason });
      this.#timer = setTimeout(() => void tick(), this.intervalMs).unref();
    };
    void tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
