// Messages between the gateway and the journal worker. Structured cloning
// turns a Buffer into a plain Uint8Array; these restore Buffers on arrival so
// both sides (and SQLite's BLOB binding) see the types they expect.
import type { JournalStore } from './journal-store.js';

export type JournalOp = {
  [K in keyof JournalStore]: JournalStore[K] extends (...args: never[]) => unknown ? K : never;
}[keyof JournalStore];

export interface WorkerRequest {
  id: number;
  op: JournalOp;
  args: unknown[];
}

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Restores Buffers (deeply) from the Uint8Arrays structured cloning delivers. */
export function fromWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(fromWire);
  if (value instanceof Set || value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = fromWire(v);
  return out;
}
