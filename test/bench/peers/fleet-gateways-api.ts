// What the fleet bench and its gateway processes (fleet-gateways.ts) share:
// the control API's shapes and how gateway ids and tokens are made. No side
// effects, so the bench can import it.
import { createHmac } from 'node:crypto';

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
  commandsAnswered: Record<string, number>;
  /** `error` messages from the hub, by code (rate_limited, invalid...). */
  hubErrors: Record<string, number>;
  /** Telemetry messages sent with ts in [from, to) when asked with ?from=&to=. */
  sentInWindow?: number;
}

export const fleetGatewayId = (i: number) => `gw-${String(i).padStart(5, '0')}`;
export const fleetGatewayToken = (seed: string, id: string) => createHmac('sha256', seed).update(id).digest('base64url');
