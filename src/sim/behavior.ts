// The fault the simulated ERP is told to show, and which requests it hits.
// Pure: the simulator asks, per request, what to do.

export type SimMode = 'ok' | 'fail' | 'hang' | 'slow' | 'drop-after-commit' | 'drop-before-commit';

export interface SimBehavior {
  mode: SimMode;
  /** For 'fail': the HTTP status to answer (default 503). */
  status?: number;
  /** For 'fail': send Retry-After with this many seconds. */
  retryAfterS?: number;
  /** For 'slow': the delay before answering (default 1000). */
  delayMs?: number;
  /** Apply to the next N matching requests only, then back to 'ok'. */
  count?: number;
  /** Apply only to requests whose path starts with this; unset means every path, /ping included, as in a real outage. */
  pathPrefix?: string;
}

export const MODES: readonly SimMode[] = ['ok', 'fail', 'hang', 'slow', 'drop-after-commit', 'drop-before-commit'];

const OK: SimBehavior = { mode: 'ok' };

const isWhole = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

const FIELDS: Record<keyof SimBehavior, (v: unknown) => boolean> = {
  mode: (v) => MODES.includes(v as SimMode),
  status: (v) => isWhole(v, 100, 599),
  retryAfterS: (v) => isWhole(v, 0),
  delayMs: (v) => isWhole(v, 0),
  count: (v) => isWhole(v, 1),
  pathPrefix: (v) => typeof v === 'string' && v.startsWith('/'),
};

/** Validates a behaviour from outside (the control endpoint, a test); unknown fields are refused so a typo is not silently ignored. */
export function parseBehavior(v: unknown): SimBehavior | { error: string } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'a JSON object expected' };
  const o = v as Record<string, unknown>;
  if (o.mode === undefined) return { error: `mode expected, one of ${MODES.join(', ')}` };
  for (const [k, value] of Object.entries(o)) {
    const check = FIELDS[k as keyof SimBehavior] as ((v: unknown) => boolean) | undefined;
    if (!check) return { error: `unknown field ${k}` };
    if (!check(value)) return { error: `invalid ${k}: ${JSON.stringify(value)}` };
  }
  return { ...(o as unknown as SimBehavior) };
}

export class BehaviorState {
  #current: SimBehavior = OK;

  get current(): SimBehavior {
    return this.#current;
  }

  set(b: SimBehavior): void {
    this.#current = b;
  }

  /** The behaviour for one request to `path`; a counted behaviour is used up by the requests it applies to. */
  take(path: string): SimBehavior {
    const b = this.#current;
    if (b.mode === 'ok' || (b.pathPrefix !== undefined && !path.startsWith(b.pathPrefix))) return OK;
    if (b.count !== undefined) this.#current = b.count > 1 ? { ...b, count: b.count - 1 } : OK;
    return b;
  }
}
