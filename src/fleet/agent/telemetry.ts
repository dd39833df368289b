// Turning the gateway's status and counters into what the protocol carries:
// path telemetry, request counts since the previous sample, and when the
// journal crosses into quota pressure. Pure.
import type { PathTelemetry, QueueTelemetry, TelemetryMessage } from '../protocol.js';
import type { AgentStatus, RequestCount } from './host.js';

/** Only the fields the protocol knows: the status object carries more (monitored, wireguardError). */
export function pathTelemetry(p: AgentStatus['paths'][number]): PathTelemetry {
  return {
    name: p.name,
    state: p.state,
    score: p.score,
    rttMs: p.rttMs,
    jitterMs: p.jitterMs,
    lossPct: p.lossPct,
    ...(p.handshakeAgeS !== undefined && { handshakeAgeS: p.handshakeAgeS }),
    ...(p.rxBps !== undefined && { rxBps: p.rxBps }),
    ...(p.txBps !== undefined && { txBps: p.txBps }),
  };
}

export function queueTelemetry(q: AgentStatus['queue']): QueueTelemetry {
  return { pending: q.pending, dead: q.dead, unknown: q.unknown, oldestAgeS: q.oldestAgeS, bytes: q.bytes, maxAgeS: q.maxAgeS, expiryWarning: q.expiryWarning };
}

export function telemetryBody(status: AgentStatus, requests: TelemetryMessage['requests']): Omit<TelemetryMessage, 'id' | 'ts'> {
  return { type: 'telemetry', configVersion: status.configVersion, paths: status.paths.map(pathTelemetry), queue: queueTelemetry(status.queue), requests };
}

const seriesKey = (c: RequestCount) => `${c.labels.route ?? ''}\u0000${c.labels.class ?? ''}\u0000${c.labels.outcome ?? ''}`;

/** Request counts per class and outcome since the previous take, from monotonic counters. */
export class RequestDeltas {
  #last = new Map<string, number>();

  /** Remembers where the counters stand without reporting (the agent's start). */
  mark(counts: readonly RequestCount[]): void {
    this.#last = new Map(counts.map((c) => [seriesKey(c), c.value]));
  }

  take(counts: readonly RequestCount[]): TelemetryMessage['requests'] {
    const out: TelemetryMessage['requests'] = {};
    const next = new Map<string, number>();
    for (const c of counts) {
      const key = seriesKey(c);
      next.set(key, c.value);
      // A counter below its last value was reset: all of it is new.
      const before = this.#last.get(key) ?? 0;
      const delta = c.value >= before ? c.value - before : c.value;
      if (delta <= 0) continue;
      const byOutcome = (out[String(c.labels.class ?? 'none')] ??= {});
      const outcome = String(c.labels.outcome ?? 'none');
      byOutcome[outcome] = (byOutcome[outcome] ?? 0) + delta;
    }
    this.#last = next;
    return out;
  }
}

/** Share of buffer.maxBytes above which the journal is under quota pressure. */
const QUOTA_PRESSURE = 0.8;
/** Pressure is reported again only after falling below this: a journal hovering at 80% reports once, not at every sample. */
const QUOTA_RELIEF = 0.75;

/** Reports each crossing into quota pressure once. */
export class QuotaWatch {
  #pressed = false;

  /** True when this sample crosses into pressure. */
  crossed(bytes: number, maxBytes: number): boolean {
    if (maxBytes <= 0) return false;
    const share = bytes / maxBytes;
    if (this.#pressed) {
      if (share < QUOTA_RELIEF) this.#pressed = false;
      return false;
    }
    this.#pressed = share >= QUOTA_PRESSURE;
    return this.#pressed;
  }
}
