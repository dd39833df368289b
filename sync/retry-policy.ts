// What to do after a delivery attempt. Pure: the replay engine supplies the
// outcome and the attempt count, this decides deliver / retry when / dead /
// unknown (an ERP that does not dedupe may have applied it).
import type { DedupeKind } from '../edge-config/schema.js';

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
  /** A 500 is retried this many times in all, then the entry is dead. */
  maxServerErrorAttempts: number;
}

/**
 * network: nothing reached the ERP (no path, no connection, no slot).
 * timeout / lost: the request may have reached it and no whole answer came
 * back (no answer in time; the connection broke or the answer was cut off).
 */
export type AttemptOutcome =
  | { kind: 'response'; status: number; retryAfterMs?: number | undefined; jsonRpcError?: string | undefined }
  | { kind: 'network'; detail: string }
  | { kind: 'timeout'; detail: string }
  | { kind: 'lost'; detail: string };

export type Decision =
  | { action: 'delivered' }
  | { action: 'retry'; delayMs: number; reason: string }
  | { action: 'dead'; reason: string }
  | { action: 'unknown'; reason: string };

const RETRYABLE_STATUS = new Set([408, 425, 429, 502, 503, 504]);
/** A proxy's answers for a request it passed on and lost the answer of (Traefik: backend reset / timed out). */
const AMBIGUOUS_STATUS = new Set([502, 504]);

/** Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^(attempt-1))]. */
export function fullJitterDelay(attempt: number, s: Pick<BackoffSettings, 'baseMs' | 'maxMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(s.maxMs, s.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * `attempts` counts the attempt that produced `outcome` (1 for the first).
 * `dedupe`: how the ERP recognises a write it already applied; with 'none',
 * an attempt that may have reached it is never retried blindly.
 */
export function decide(outcome: AttemptOutcome, attempts: number, s: BackoffSettings, dedupe: DedupeKind, random: () => number = Math.random): Decision {
  const backoff = () => fullJitterDelay(attempts, s, random);
  const ambiguous = outcome.kind === 'timeout' || outcome.kind === 'lost' || (outcome.kind === 'response' && AMBIGUOUS_STATUS.has(outcome.status));
  if (ambiguous && dedupe === 'none') {
    const what = outcome.kind === 'response' ? `HTTP ${outcome.status}` : `${outcome.kind}: ${outcome.detail}`;
    return { action: 'unknown', reason: `may have reached the ERP, which does not dedupe (${what})` };
  }
  if (outcome.kind !== 'response') return { action: 'retry', delayMs: backoff(), reason: `${outcome.kind}: ${outcome.detail}` };

  const { status } = outcome;
  if (status < 400) {
    // Odoo answers application errors with HTTP 200 and a JSON-RPC error: the
    // ERP refused the write, and sending it again will not change that.
    if (outcome.jsonRpcError !== undefined) return { action: 'dead', reason: `ERP error: ${outcome.jsonRpcError}` };
    return { action: 'delivered' };
  }
  if (RETRYABLE_STATUS.has(status)) {
    // Retry-After is a floor: the ERP asked for at least that long.
    const delayMs = Math.max(backoff(), outcome.retryAfterMs ?? 0);
    return { action: 'retry', delayMs, reason: `HTTP ${status}` };
  }
  if (status === 500) {
    if (attempts >= s.maxServerErrorAttempts) return { action: 'dead', reason: `HTTP 500 after ${attempts} attempts` };
    return { action: 'retry', delayMs: backoff(), reason: 'HTTP 500' };
  }
  return { action: 'dead', reason: `HTTP ${status}` };
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
