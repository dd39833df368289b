// What a client that sent a buffered write is answered, from what became of
// each of its items (one, or every order of a POS batch). Pure.
//
// The Odoo web client reads an answer this way (ODOO-POS.md): HTTP 502 or a
// body that is not JSON is a lost connection (the POS keeps the order and
// sends it again); JSON with `error` is a refusal (17 reverts the order to
// unpaid); any other JSON is success with `result` (16/17 then delete every
// order they sent). So a write the ERP has not taken yet is answered in the
// route's heldAnswer mode, never with a JSON the client would misread.
import type { HeldAnswer } from '../../edge-config/schema.js';
import type { EntryState, Headers, StoredResponse } from '../../sync/journal-store.js';

export interface ItemOutcome {
  key: string;
  receipt: string;
  state: EntryState;
  /** Why a dead entry was given up. */
  lastError?: string | null | undefined;
  /** The ERP's answer: kept once delivered, or its refusal of a dead entry. */
  response?: StoredResponse | undefined;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: Buffer | Record<string, unknown> | string;
  /** For the request metrics. */
  outcome: 'delivered' | 'buffered' | 'refused';
  /** Set when a gateway-aware client is told its write was given up: the gateway's own error, 409. */
  deadLetter?: string;
}

/** The record lists of Odoo 18/19's sync_from_ui answer; the POS reads at least the first three. */
export const ODOO_DICT_KEYS = ['pos.order', 'pos.session', 'pos.order.line', 'pos.payment', 'pos.pack.operation.lot', 'product.attribute.custom.value'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The JSON-RPC `result` of a kept answer, or undefined when it has none. */
function resultOf(response: StoredResponse): unknown {
  try {
    const parsed: unknown = JSON.parse(response.body.toString('utf8'));
    return isObject(parsed) ? parsed.result : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One result for several single-order answers, as Odoo would have answered
 * the batch: lists (16/17 create_from_ui) joined, dicts of record lists
 * (18/19 sync_from_ui) joined list by list. `empty` is the shape to start from.
 */
export function composeResults(results: readonly unknown[], empty: unknown[] | Record<string, unknown[]>): unknown {
  if (Array.isArray(empty)) return [...empty, ...results.flatMap((r) => (Array.isArray(r) ? r : r === undefined ? [] : [r]))];
  const merged: Record<string, unknown[]> = Object.fromEntries(Object.entries(empty).map(([k, v]) => [k, [...v]]));
  for (const r of results) {
    if (!isObject(r)) continue;
    for (const [k, v] of Object.entries(r)) merged[k] = [...(merged[k] ?? []), ...(Array.isArray(v) ? v : [v])];
  }
  return merged;
}

function emptyFor(mode: HeldAnswer, results: readonly unknown[]): unknown[] | Record<string, unknown[]> {
  if (mode === 'odoo-dict') return Object.fromEntries(ODOO_DICT_KEYS.map((k) => [k, []]));
  if (mode === 'odoo-list') return [];
  // The shape of what the ERP itself answered.
  return results.some(isObject) ? {} : [];
}

function rpcAnswer(id: unknown, result: unknown, outcome: Answer['outcome']): Answer {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: { jsonrpc: '2.0', id, result }, outcome };
}

/** A kept answer given to this request: the same answer under this request's JSON-RPC id. */
function kept(response: StoredResponse, id: unknown, outcome: Answer['outcome']): Answer {
  let body = response.body;
  if (id !== undefined) {
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (isObject(parsed) && 'jsonrpc' in parsed) body = Buffer.from(JSON.stringify({ ...parsed, id }));
    } catch {
      // Not JSON: given as it was.
    }
  }
  return { status: response.status, headers: response.headers, body, outcome };
}

export interface AnswerContext {
  mode: HeldAnswer;
  /** The request's JSON-RPC id (undefined: not a JSON-RPC request). */
  rpcId: unknown;
  /** One item sent as it came (its kept answer is given as is), or items split from a batch. */
  batch: boolean;
}

export function answerFor(items: readonly ItemOutcome[], ctx: AnswerContext): Answer {
  const delivered = items.filter((i) => i.state === 'delivered' && i.response);
  const held = items.filter((i) => i.state === 'pending' || i.state === 'unknown');
  const refusals = items.filter((i) => i.state === 'dead' && i.response);

  if (held.length === 0 && delivered.length > 0) {
    if (!ctx.batch) return kept(delivered[0]!.response!, ctx.rpcId, 'delivered');
    // Orders the ERP refused are dead letters at the gateway; the others are
    // answered as done: refusing the whole batch would make 17 revert orders the ERP has.
    const results = delivered.map((i) => resultOf(i.response!));
    return rpcAnswer(ctx.rpcId, composeResults(results, emptyFor(ctx.mode, results)), 'delivered');
  }
  // Only refusals: the ERP's own refusal, as Odoo answers a batch with a bad order.
  if (held.length === 0 && refusals.length > 0) return kept(refusals[0]!.response!, ctx.rpcId, 'refused');

  // Given up without an answer from the ERP (expired, or an operator's discard pending).
  const givenUp = held.length === 0 && delivered.length === 0 ? items.find((i) => i.state === 'dead') : undefined;
  if (givenUp && ctx.mode === 'receipt')
    return { status: 409, headers: { 'x-gateway-receipt': givenUp.receipt }, body: {}, outcome: 'refused', deadLetter: givenUp.lastError ?? 'dead letter' };

  const waiting = held.length > 0 ? held : items;
  switch (ctx.mode) {
    case 'receipt':
      return {
        status: 202,
        headers: { 'x-gateway-receipt': items[0]!.receipt },
        body: {
          status: 'buffered',
          receipt: items[0]!.receipt,
          idempotencyKey: items[0]!.key,
          ...(ctx.batch && { entries: items.map((i) => ({ key: i.key, receipt: i.receipt, state: i.state })) }),
        },
        outcome: 'buffered',
      };
    case 'offline':
      return {
        status: 502,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'x-gateway-held': String(waiting.length) },
        body: `storegw: ${waiting.length} of ${items.length} held for the ERP; the gateway keeps them, send again later\n`,
        outcome: 'buffered',
      };
    case 'odoo-list':
    case 'odoo-dict': {
      const results = delivered.map((i) => resultOf(i.response!));
      return rpcAnswer(ctx.rpcId, composeResults(results, emptyFor(ctx.mode, results)), 'buffered');
    }
  }
}
