// Whether a configuration pushed by the hub is keeping the gateway healthy:
// the checks of its grace period, apart from how they are sampled. Pure.
import type { AgentStatus, RequestCount } from './host.js';

export type HealthCheck = 'reload' | 'path_down' | 'journal';

export type Verdict = { healthy: true } | { healthy: false; check: HealthCheck; reason: string };

export type HealthSample =
  | { ok: true; status: AgentStatus; /** requests refused since the apply because the journal failed */ journalErrors: number }
  | { ok: false; error: string };

/** The paths that were UP before the change: only those going DOWN count against it. */
export function upPaths(status: AgentStatus): string[] {
  return status.paths.filter((p) => p.state === 'up').map((p) => p.name);
}

export function verdict(wasUp: readonly string[], sample: HealthSample): Verdict {
  if (!sample.ok) return { healthy: false, check: 'journal', reason: `the journal did not answer (${sample.error})` };
  if (sample.journalErrors > 0) return { healthy: false, check: 'journal', reason: `${sample.journalErrors} request(s) could not be journaled` };
  const down = sample.status.paths.find((p) => p.state === 'down' && wasUp.includes(p.name));
  if (down) return { healthy: false, check: 'path_down', reason: `path ${down.name} went DOWN (it was UP before the change)` };
  return { healthy: true };
}

/** The sum of storegw_requests_total over every route and class for one outcome. */
export function outcomeTotal(counts: readonly RequestCount[], outcome: string): number {
  return counts.reduce((sum, c) => (c.labels.outcome === outcome ? sum + c.value : sum), 0);
}
