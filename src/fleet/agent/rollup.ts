// Merging telemetry the spool can no longer keep one by one: the merged
// message keeps what central needs to see of the outage it covers — the worst
// each path was, the deepest the queue got, every request counted — at the
// time of its first sample. Pure.
import type { PathTelemetry, TelemetryMessage } from '../protocol.js';

/** UNKNOWN is worse than UP: a merged message must not vouch for a span in which the gateway had not judged the path. */
const SEVERITY = { up: 0, unknown: 1, degraded: 2, down: 3 } as const;

const maxOf = (a: number | null | undefined, b: number | null | undefined): number | null => {
  if (a === null || a === undefined) return b ?? null;
  if (b === null || b === undefined) return a;
  return Math.max(a, b);
};

function worsePath(a: PathTelemetry, b: PathTelemetry): PathTelemetry {
  return {
    name: a.name,
    state: SEVERITY[b.state] > SEVERITY[a.state] ? b.state : a.state,
    score: Math.min(a.score, b.score),
    rttMs: maxOf(a.rttMs, b.rttMs),
    jitterMs: Math.max(a.jitterMs, b.jitterMs),
    lossPct: Math.max(a.lossPct, b.lossPct),
    ...((a.handshakeAgeS !== undefined || b.handshakeAgeS !== undefined) && { handshakeAgeS: maxOf(a.handshakeAgeS, b.handshakeAgeS) }),
    // Peaks: an average would hide the burst that filled the uplink.
    ...((a.rxBps !== undefined || b.rxBps !== undefined) && { rxBps: maxOf(a.rxBps, b.rxBps) }),
    ...((a.txBps !== undefined || b.txBps !== undefined) && { txBps: maxOf(a.txBps, b.txBps) }),
  };
}

/** One telemetry message standing for `messages` (oldest first, at least one). */
export function rollUp(messages: readonly TelemetryMessage[]): TelemetryMessage {
  const [first, ...rest] = messages;
  if (!first) throw new Error('rollUp needs at least one message');
  if (rest.length === 0) return first;
  const paths = new Map(first.paths.map((p) => [p.name, p]));
  const queue = { ...first.queue };
  const requests: TelemetryMessage['requests'] = {};
  let count = 0;
  let configVersion = first.configVersion;
  for (const m of messages) {
    count += m.rolledUp ?? 1;
    configVersion = m.configVersion;
    for (const p of m.paths) {
      const seen = paths.get(p.name);
      paths.set(p.name, seen ? worsePath(seen, p) : p);
    }
    queue.pending = Math.max(queue.pending, m.queue.pending);
    queue.dead = Math.max(queue.dead, m.queue.dead);
    queue.oldestAgeS = Math.max(queue.oldestAgeS, m.queue.oldestAgeS);
    if (m.queue.bytes !== undefined) queue.bytes = Math.max(queue.bytes ?? 0, m.queue.bytes);
    if (m.queue.unknown !== undefined) queue.unknown = Math.max(queue.unknown ?? 0, m.queue.unknown);
    // The max age as it was last (a reload may change it); the warning at its worst, as the queue is.
    if (m.queue.maxAgeS !== undefined) queue.maxAgeS = m.queue.maxAgeS;
    if (m.queue.expiryWarning !== undefined) queue.expiryWarning = Math.max(queue.expiryWarning ?? 0, m.queue.expiryWarning ?? 0) || null;
    for (const [cls, outcomes] of Object.entries(m.requests)) {
      const into = (requests[cls] ??= {});
      for (const [outcome, n] of Object.entries(outcomes)) into[outcome] = (into[outcome] ?? 0) + n;
    }
  }
  return {
    type: 'telemetry',
    id: rollupId(first.id, count),
    ts: first.ts,
    // The version that ran last: the one the gateway came out of the outage with.
    configVersion,
    paths: [...paths.values()],
    queue,
    requests,
    rolledUp: count,
  };
}

/**
 * A roll-up is a message of its own, not its first sample again: that sample may
 * have been sent and stored by a hub that was killed before acknowledging it, and
 * the hub skips a message id it has stored. Derived, not random, so the same
 * roll-up sent twice is still one; within the protocol's 64 characters.
 */
export function rollupId(firstId: string, count: number): string {
  const prefix = `r${count}-`;
  return prefix + firstId.replace(/^r\d+-/, '').slice(0, 64 - prefix.length);
}
