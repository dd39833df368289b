// Watches every uplink: active HTTP probes through the path (bound to its
// tunnel address when set) and the passive outcomes of real requests feed one
// quality record and one state machine per path. Probes follow ProbeTiming: a
// steady cadence, and a fast one while a probe is overdue. A path is UNKNOWN
// until its first outcome; one with neither a probe nor a WireGuard interface
// has none and stays UNKNOWN. A state change applies to the data path at once,
// through views(), and is logged with the numbers behind it.
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { GatewayConfig, PathConfig } from '../../edge-config/schema.js';
import type { LinkState, PathView } from './path-view.js';
import { LinkStateMachine } from './link-state.js';
import { LinkQuality, type QualitySnapshot } from './quality.js';
import { ProbeTiming } from './probe-timing.js';
import { STALE_HANDSHAKE_S } from './wireguard.js';
import { WireGuardWatch, type WireGuardReading } from './wireguard-watch.js';

export interface PathStatus extends QualitySnapshot {
  name: string;
  state: LinkState;
  /** False for a path with neither a probe nor a WireGuard interface: nothing settles it, so its state stays unknown. */
  monitored: boolean;
  /** Seconds in the current state: since the last change, or since the path was first watched (the staff page's "down since 14:02"). */
  stateAgeS: number;
  /** For a path with a WireGuard interface: its last reading. */
  wireguard?: WireGuardStatus;
}

export interface WireGuardStatus {
  handshakeAgeS?: number;
  rxBps?: number;
  txBps?: number;
  /** Why the interface could not be read, while it cannot. */
  error?: string;
}

/** A path's state change with the numbers behind it, as logged. */
export interface PathStateChange {
  path: string;
  from: LinkState;
  to: LinkState;
  cause: 'probe' | 'request' | 'wireguard';
  rttMs: number | null;
  jitterMs: number;
  lossPct: number;
  score: number;
  handshakeAgeS?: number;
}

interface Prober {
  pool: Pool;
  path: string;
  timing: ProbeTiming;
  /** When a probe's request is finally abandoned (probe.timeoutMs). */
  hardTimeoutMs: number;
  lastSentAt: number | undefined;
  /** Send times of probes in flight. */
  outstanding: Set<number>;
  /** Connections the pool has opened so far: a probe during which it opened one has no usable round-trip time. */
  connects: number;
  timer: NodeJS.Timeout | undefined;
}

interface Watched {
  config: PathConfig;
  quality: LinkQuality;
  machine: LinkStateMachine;
  probe: Prober | undefined;
  wg: { watch: WireGuardWatch; status: WireGuardStatus } | undefined;
  /** When the state last changed (or watching began), on the monotonic clock: a wall-clock jump does not move it. */
  changedAt: number;
}

export class LinkMonitor {
  #paths: Watched[];
  #link: GatewayConfig['link'];
  readonly #logger: Logger;
  readonly #onStateChange: ((change: PathStateChange) => void) | undefined;
  #running = false;

  /** `onStateChange` hears every state change after it is logged (the fleet agent reports them). */
  constructor(paths: readonly PathConfig[], link: GatewayConfig['link'], logger: Logger, onStateChange?: (change: PathStateChange) => void) {
    this.#link = link;
    this.#logger = logger;
    this.#onStateChange = onStateChange;
    this.#paths = paths.map((config) => this.#watch(config));
  }

  start(): void {
    this.#running = true;
    for (const w of this.#paths) this.#begin(w);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#paths.map((w) => this.#end(w)));
  }

  /**
   * New settings (a configuration reload). A path whose name and target are
   * unchanged keeps its state and its quality record, so a DOWN path stays
   * DOWN until its probes say otherwise; its probe and WireGuard watch start
   * anew only when their own settings changed. New paths start from a clean
   * record, and paths gone from the settings are no longer watched.
   */
  configure(paths: readonly PathConfig[], link: GatewayConfig['link']): void {
    const before = new Map(this.#paths.map((w) => [w.config.name, w]));
    const previousLink = this.#link;
    this.#link = link;
    /** Paths whose watchers are new and not yet started. */
    const fresh: Watched[] = [];
    this.#paths = paths.map((config) => {
      const kept = before.get(config.name);
      if (kept && sameTarget(kept.config, config)) {
        before.delete(config.name);
        if (this.#retune(kept, config, previousLink)) fresh.push(kept);
        return kept;
      }
      const w = this.#watch(config);
      fresh.push(w);
      return w;
    });
    for (const gone of before.values()) void this.#end(gone);
    if (this.#running) for (const w of fresh) this.#begin(w);
  }

  #watch(config: PathConfig): Watched {
    const w: Watched = { config, quality: new LinkQuality(), machine: new LinkStateMachine(this.#link), probe: undefined, wg: undefined, changedAt: performance.now() };
    this.#equip(w);
    return w;
  }

  /** The probe and WireGuard watch `w.config` asks for, under the current link settings. */
  #equip(w: Watched): void {
    const { config } = w;
    w.probe = config.probe && prober(config, config.probe, this.#link.downAfter);
    const iface = config.wireguard?.interface;
    w.wg = iface ? { watch: new WireGuardWatch(iface, this.#link.wireguardIntervalMs, (r) => this.#wireguard(w, r)), status: {} } : undefined;
  }

  /**
   * A kept path under new settings: its record stays; its watchers are
   * rebuilt only when what they run on changed. True when they were.
   */
  #retune(w: Watched, config: PathConfig, previousLink: GatewayConfig['link']): boolean {
    const rewatch =
      JSON.stringify(w.config.probe) !== JSON.stringify(config.probe) ||
      previousLink.downAfter !== this.#link.downAfter ||
      previousLink.wireguardIntervalMs !== this.#link.wireguardIntervalMs;
    w.config = config;
    w.machine.retune(this.#link);
    if (rewatch) {
      void this.#end(w);
      this.#equip(w);
    }
    return rewatch;
  }

  #begin(w: Watched): void {
    this.#schedule(w);
    w.wg?.watch.start();
  }

  async #end(w: Watched): Promise<void> {
    w.wg?.watch.stop();
    if (!w.probe) return;
    clearTimeout(w.probe.timer);
    const pool = w.probe.pool;
    w.probe = undefined;
    await pool.destroy();
  }

  views(): PathView[] {
    return this.#paths.map((w) => ({
      name: w.config.name,
      allowClasses: w.config.allowClasses,
      metered: w.config.metered,
      state: w.machine.state,
      score: w.quality.score(this.#link.degraded),
    }));
  }

  status(): PathStatus[] {
    const now = performance.now();
    return this.#paths.map((w) => ({
      name: w.config.name,
      state: w.machine.state,
      monitored: w.probe !== undefined || w.wg !== undefined,
      stateAgeS: (now - w.changedAt) / 1000,
      ...w.quality.snapshot(this.#link.degraded),
      ...(w.wg && { wireguard: w.wg.status }),
    }));
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

  /**
   * A handshake older than 180 s while traffic is sent means the tunnel
   * carries nothing (WireGuard re-keys every 2 minutes while in use): a
   * failure. On a path without a probe, a recent handshake is its only sign
   * of life, so there it counts as a success.
   */
  #wireguard(w: Watched, reading: WireGuardReading): void {
    if (!w.wg) return;
    if (!reading.ok) {
      if (w.wg.status.error !== reading.reason) this.#logger.warn({ path: w.config.name, error: reading.reason }, `path ${w.config.name}: WireGuard state unreadable`);
      w.wg.status = { error: reading.reason };
      return;
    }
    const { handshakeAgeS, rxBps, txBps, stale } = reading.health;
    w.wg.status = { handshakeAgeS, rxBps, txBps };
    if (stale) this.#observe(w, false, 'wireguard');
    else if (!w.probe && handshakeAgeS !== undefined && handshakeAgeS <= STALE_HANDSHAKE_S) this.#observe(w, true, 'wireguard');
  }

  #schedule(w: Watched): void {
    const p = w.probe;
    if (!p) return;
    clearTimeout(p.timer);
    const at = p.timing.nextSendAt(p.lastSentAt, [...p.outstanding]);
    if (at === Infinity) return;
    p.timer = setTimeout(
      () => {
        this.#send(w, p);
        this.#schedule(w);
      },
      Math.max(0, at - performance.now()),
    ).unref();
  }

  #send(w: Watched, p: Prober): void {
    // Distinct keys even when two sends share a timestamp.
    let sentAt = performance.now();
    while (p.outstanding.has(sentAt)) sentAt += 1e-6;
    p.lastSentAt = sentAt;
    p.outstanding.add(sentAt);
    const deadline = p.timing.deadlineMs();
    const connectsAtSend = p.connects;
    void probeOnce(p, deadline, p.hardTimeoutMs).then((ok) => {
      p.outstanding.delete(sentAt);
      if (w.probe !== p) return;
      const rtt = performance.now() - sentAt;
      // A connection opened while this probe was out may not be its own (probes
      // run in parallel while one is overdue): dropping the time of both errs
      // towards fewer samples, never towards a set-up time read as a round trip.
      const timed = p.connects === connectsAtSend;
      if (!ok) {
        p.timing.lost();
        w.quality.record(null);
      } else {
        // An answer TCP had to resend for is the path alive and a packet lost:
        // the loss counts, its time (mostly the resend's wait) does not.
        const retransmitted = p.timing.retransmitted(rtt, !timed);
        p.timing.answered(timed ? rtt : undefined);
        if (retransmitted) w.quality.record(null);
        else if (timed) w.quality.record(rtt);
        else w.quality.recordUntimed();
      }
      this.#observe(w, ok, 'probe');
      this.#schedule(w);
    });
  }

  #observe(w: Watched, ok: boolean, source: 'probe' | 'request' | 'wireguard'): void {
    const at = performance.now();
    if (w.machine.recoversWith(ok, at)) w.quality.forgetLosses();
    const t = this.#link.degraded;
    // On every request's outcome on a probed path: the snapshot (a sort) only for a change's log line.
    const change = w.machine.observe({ ok, degraded: w.quality.isDegraded(t), clear: w.quality.isClear(t), at });
    if (!change) return;
    const q = w.quality.snapshot(t);
    w.changedAt = at;
    const log = change.to === 'up' ? this.#logger.info.bind(this.#logger) : this.#logger.warn.bind(this.#logger);
    const details: PathStateChange = {
      path: w.config.name,
      from: change.from,
      to: change.to,
      cause: source,
      rttMs: q.rttMs === undefined ? null : Math.round(q.rttMs * 10) / 10,
      jitterMs: Math.round(q.jitterMs * 10) / 10,
      lossPct: Math.round(q.lossPct),
      score: q.score,
      ...(w.wg?.status.handshakeAgeS !== undefined && { handshakeAgeS: Math.round(w.wg.status.handshakeAgeS) }),
    };
    log(details, `path ${w.config.name} is ${change.to.toUpperCase()}`);
    this.#onStateChange?.(details);
  }
}

/** Whether two settings of a path watch the same link: the same name, through the same tunnel, to the same ingress, probed at the same URL. */
function sameTarget(a: PathConfig, b: PathConfig): boolean {
  return a.name === b.name && a.baseUrl === b.baseUrl && a.localAddress === b.localAddress && a.wireguard?.interface === b.wireguard?.interface && a.probe?.url === b.probe?.url;
}

function prober(config: PathConfig, probe: NonNullable<PathConfig['probe']>, downAfter: number): Prober {
  const url = new URL(probe.url);
  // Enough in flight to reach downAfter failures within one deadline.
  const maxOutstanding = Math.max(2, downAfter);
  const pool = new Pool(url.origin, {
    // Probes past their deadline still hold a connection until the hard timeout.
    connections: 2 * maxOutstanding,
    connect: { timeout: probe.timeoutMs, ...(config.localAddress !== undefined && { localAddress: config.localAddress }) },
  });
  const timing = new ProbeTiming({ ...probe, maxOutstanding });
  const p: Prober = { pool, path: url.pathname + url.search, timing, hardTimeoutMs: probe.timeoutMs, lastSentAt: undefined, outstanding: new Set(), connects: 0, timer: undefined };
  pool.on('connect', () => p.connects++);
  return p;
}

/**
 * One probe: true when the ingress answered 2xx within the deadline. A probe
 * past its deadline counts as lost, but its request runs on to the hard
 * timeout: tearing the connection down would make the next probe pay a new
 * handshake (a lost SYN costs a second) on a lossy link, turning one loss into
 * a run of them.
 */
function probeOnce(p: Prober, deadlineMs: number, hardTimeoutMs: number): Promise<boolean> {
  const answered = (async () => {
    const limit = Math.max(deadlineMs, hardTimeoutMs);
    try {
      const res = await p.pool.request({ method: 'GET', path: p.path, signal: AbortSignal.timeout(limit), headersTimeout: limit, bodyTimeout: limit });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 300;
    } catch {
      return false;
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), deadlineMs).unref();
  });
  return Promise.race([answered, late]).finally(() => clearTimeout(timer));
}
