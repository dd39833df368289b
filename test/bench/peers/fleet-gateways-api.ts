// What the fleet bench and its gateway processes (fleet-gateways.ts) share:
// the control API's shapes and how gateway ids and tokens are made. No side
// effects, so the bench can import it.
import { createHmac } from 'node:crypto';
import { request } from 'undici';

export interface StartRequest {
  /** ws://host:port/v1/gateways/connect */
  url: string;
  /** Tokens are hmac(seed, id): the bench writes their sha256 to the hub's tokens file. */
  seed: string;
  /** Gateway ids fleetGatewayId(i) for i in [from, to). */
  from: number;
  to: number;
  connectPerSec: number;
  telemetryIntervalMs: number;
  regions: number;
  /**
   * Hub replicas (the fleet-replicas bench): gateway i dials urls[i % urls.length] first, and
   * after a dial that fails the next one, as a load balancer in front of replicas sends a
   * new connection to a live one. `url` is then ignored.
   */
  urls?: string[];
  /**
   * Redial as the agent does (src/fleet/agent/connection.ts: full-jitter backoff from
   * backoff.ts, a connection that held for heartbeatMs resets the failures) instead of
   * the default fixed 1–3 s pause.
   */
  agentBackoff?: { baseMs: number; maxMs: number; heartbeatMs: number };
}

/** One command id as the simulated gateways saw it (GET /commands). */
export interface CommandSeen {
  id: string;
  gateway: string;
  command: string;
  /** Times the id arrived; more than once is a repeat, answered from memory. */
  deliveries: number;
  /** Times it was acted on: the gateway remembers ids as the agent does (CommandMemo), so 1. */
  executions: number;
  /** Date.now() when first acted on. */
  at: number;
}

export interface WorkerStats {
  pid: number;
  /** Gateways asked for. */
  gateways: number;
  /** Websockets open that have said hello. */
  open: number;
  connects: number;
  /** Upgrades the hub refused (by status) or connections that failed before opening. */
  refused: Record<string, number>;
  connectErrors: number;
  /** Open connections that closed while the run was not stopping, by close code. */
  drops: Record<string, number>;
  telemetrySent: number;
  /** Telemetry sent again after a reconnect because the hub had not acknowledged it (the acks feature), counted apart from telemetrySent. */
  telemetryResent: number;
  /** Telemetry ticks that fell while the gateway had no open connection: not sent (the real agent spools them; these do not). */
  telemetryUnsent: number;
  /** Dials that failed (refused, reset, timed out) before opening. */
  dialsFailed: number;
  commandsAnswered: Record<string, number>;
  /** `error` messages from the hub, by code (rate_limited, invalid...). */
  hubErrors: Record<string, number>;
  /** Telemetry messages sent with ts in [from, to) when asked with ?from=&to=. */
  sentInWindow?: number;
}

export const fleetGatewayId = (i: number) => `gw-${String(i).padStart(5, '0')}`;
export const fleetGatewayToken = (seed: string, id: string) => createHmac('sha256', seed).update(id).digest('base64url');

/** A call to a gateway process's control API (its JSON answer); throws on an error status. */
export async function workerJson<T>(w: { name: string; url: string }, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await request(w.url + path, { method, ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const value = (await res.body.json()) as T;
  if (res.statusCode >= 300) throw new Error(`${w.name} ${path}: ${res.statusCode} ${JSON.stringify(value)}`);
  return value;
}
