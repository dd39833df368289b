// Dead letters and unknown outcomes as the hub hears of them: one event each,
// up to a limit per kind and minute; past it, the rest of that minute are
// counted and go as one summary (the count, the first few) once the minute is
// over. A replay against an ERP that refuses everything makes thousands of
// dead letters a minute: one message each would trip the hub's rate limit
// (which closes a gateway that keeps exceeding it) and, through an outage,
// push the telemetry out of the spool. Pure (the clock is passed in).
import { BATCH_EXAMPLES, type EntrySummary } from '../protocol.js';

export type EntryKind = 'dead_letter' | 'unknown_outcome';

/** Events of one kind sent one by one per window; the hub takes 100 messages a second by default. */
export const PER_WINDOW = 20;
export const WINDOW_MS = 60_000;

/** The protocol's bounds on what an entry event carries: an ERP's error text may be longer. */
const MAX_REASON = 1024;
const MAX_ROUTE = 128;

export interface EntryFields {
  receipt: string;
  route: string;
  cls: string;
  reason: string;
  attempts: number;
}

/** An entry's fields within the protocol's bounds. */
export function clipEntry<E extends EntryFields>(e: E): EntryFields {
  return { receipt: e.receipt, route: e.route.slice(0, MAX_ROUTE), cls: e.cls, reason: e.reason.slice(0, MAX_REASON), attempts: e.attempts };
}

interface Window {
  since: number;
  sent: number;
  summary: EntrySummary | undefined;
}

export class EntryEventLimit {
  readonly #windows = new Map<EntryKind, Window>();
  readonly #perWindow: number;
  readonly #windowMs: number;

  constructor(perWindow = PER_WINDOW, windowMs = WINDOW_MS) {
    this.#perWindow = perWindow;
    this.#windowMs = windowMs;
  }

  /** True: send this entry's event now. False: it is counted into its window's summary. Take due() first, so summaries go out in order. */
  take(kind: EntryKind, entry: EntryFields, now: number): boolean {
    let w = this.#windows.get(kind);
    if (!w || now - w.since >= this.#windowMs) {
      w = { since: now, sent: 0, summary: undefined };
      this.#windows.set(kind, w);
    }
    if (w.sent < this.#perWindow) {
      w.sent++;
      return true;
    }
    w.summary ??= { count: 0, sinceTs: now, entries: [] };
    w.summary.count++;
    if (w.summary.entries.length < BATCH_EXAMPLES) w.summary.entries.push({ receipt: entry.receipt, route: entry.route, reason: entry.reason });
    return false;
  }

  /** The summaries of windows over at `now` (each once); `all`: of every window, over or not (the agent stops). */
  due(now: number, all = false): { kind: EntryKind; summary: EntrySummary }[] {
    const out: { kind: EntryKind; summary: EntrySummary }[] = [];
    for (const [kind, w] of this.#windows) {
      if (!all && now - w.since < this.#windowMs) continue;
      if (w.summary) out.push({ kind, summary: w.summary });
      this.#windows.delete(kind);
    }
    return out;
  }
}
