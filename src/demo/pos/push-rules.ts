/**
 * The order-push rules of the real Odoo POS client, per version: which orders go in
 * which call, and what the till does with each kind of answer. Pure.
 *
 * Sources read (odoo/odoo, point_of_sale/static/src):
 *  16  js/models.js, 16.0 at 00376464: `push_single_order` sends ONLY the validated
 *      order (`_flush_orders([order])`); `push_orders` sends every paid order in the
 *      local db in one `create_from_ui` call. `_save_to_server` deletes every sent order
 *      from the db on any success, before `_flush_orders` reads `server_ids.length`.
 *      An RPCError on a batch of more than one order → `_flush_orders_retry`: the same
 *      orders again, one per call. Any other error keeps the orders in the db.
 *  17  app/store/pos_store.js, 17.0: same `push_single_order`/`push_orders` split.
 *      `_save_to_server` iterates the result (`for (const serverId of serverIds)`,
 *      reading `.pos_reference`) BEFORE deleting the sent orders; a throw there, or an
 *      RPCError, lands in `_flush_orders`' catch, which for anything that is not a
 *      ConnectionLostError puts each sent order back to unpaid
 *      (`finalized = false; db.remove_order; db.save_unpaid_order`).
 *  18  app/store/pos_store.js, 18.0 mid-2025 (`syncAllOrders` sends
 *      `orders.map(serializeForORM)` in ONE `sync_from_ui`), app/services/data_service.js
 *      (`execute` turns an undefined result into `true`; `online`/`offline` browser events
 *      call `checkConnectivity` = `rpc('/pos/ping')`), screens/payment_screen/payment_screen.js
 *      (`_finalizeValidation`: `addPendingOrder([current]); state = 'paid';
 *      syncAllOrders({ throw: true })`; `handleValidationError`: RPCError →
 *      `currentOrder.state = 'draft'`, ConnectionLostError → receipt screen, else rethrow).
 *      After a call, `missingRecursive(data)` maps every value of the answer and
 *      `loadConnectedData` merges it; the loop over `newData['pos.order.line']` and
 *      `data['pos.session'].length` throw on an answer without those lists, BEFORE
 *      `orders.forEach(removePendingOrder)`. Once removed from the pending set, an order
 *      whose local id is still a string (no numeric id came back for its uuid) is
 *      re-queued only by `afterProcessServerData` at the next start (`isUnsyncedPaid`).
 *  19  app/services/pos_store.js (master/saas-19): `syncAllOrders` sends one order per
 *      `sync_from_ui` call (PR #232073) and returns at once while `network.offline`;
 *      `removePendingOrder(order)` runs after the `pos.order.line` loop and before
 *      `data['pos.session'].length`. data_service.js `checkConnectivity`: on
 *      ConnectionLostError `network.offline = true` and ping again in 2000 ms; on an
 *      answer, dispatch `pos-network-online`.
 *
 * Inferred (not seen in the source):
 *  - 16/17 re-send held orders at start (`push_orders` after loading) — the PosStore
 *    setup / Chrome start call was not read; the manual sync button does the same.
 *  - 17 at start: `_flush_orders`' revert looks the order up among the open (unpaid)
 *    orders, where a paid order from an earlier page load is not; the lookup yields
 *    undefined and the revert throws before touching the db: the orders stay pending.
 *  - 18/19 `loadConnectedData` returns only the models it was given, so an answer
 *    without `pos.order.line` throws; a numeric `id` for the order's `uuid` in the
 *    answer's `pos.order` list is what makes the local order synced.
 *  - 18 re-sends on the `online` event once the ping answers (the store's reaction to
 *    `network.offline` turning false was not read).
 *  - 19 goes offline after a push's ConnectionLostError (the hook that calls
 *    `checkConnectivity` then was not read) and re-sends on `pos-network-online`.
 *  - 18/19: after an RPCError at Validate the order is back in draft: the cashier
 *    may charge again, so it counts as reverted and is no longer pushed as paid.
 */
import type { RpcAnswer } from './rpc-answer.js';

export type PosVersion = '16' | '17' | '18' | '19';
export const POS_VERSIONS: readonly PosVersion[] = ['16', '17', '18', '19'];

/**
 * What makes the till push: the cashier pressing Validate, the page (re)loading, the
 * browser's `online` event, or (19) a ping answering while the till thought it was offline.
 */
export type PushTrigger = 'validate' | 'start' | 'online' | 'ping-answered';

/** 19 pings `/pos/ping` this often while offline (data_service.js `checkConnectivity`). */
export const PING_INTERVAL_MS = 2000;

/** The JSON-RPC method and URL each version pushes orders with. */
export function pushMethod(version: PosVersion): 'create_from_ui' | 'sync_from_ui' {
  return version === '16' || version === '17' ? 'create_from_ui' : 'sync_from_ui';
}

/**
 * The calls a trigger makes, in order, each a list of order uuids.
 * `queued`: the orders the till holds as pending and will send (16/17: every paid order in
 * the local db; 18/19: the pending set, the validated order already added to it).
 */
export function planCalls(
  version: PosVersion,
  trigger: PushTrigger,
  queued: readonly string[],
  validated?: string,
): string[][] {
  switch (version) {
    case '16':
    case '17':
      if (trigger === 'validate') return validated === undefined ? [] : [[validated]];
      if (trigger === 'start') return queued.length ? [[...queued]] : [];
      return [];
    case '18':
      if (trigger === 'ping-answered') return [];
      return queued.length ? [[...queued]] : [];
    case '19':
      if (trigger === 'online') return [];
      return queued.map((uuid) => [uuid]);
  }
}

/** 19's Validate runs `syncAllOrders({ throw: true })`: the first failed call ends the loop. */
export function stopsAtFirstFailure(version: PosVersion, trigger: PushTrigger): boolean {
  return version === '19' && trigger === 'validate';
}

/**
 * 18/19 keep a `network.offline` flag; while it is set `syncAllOrders` sends nothing.
 * `checkConnectivity` (the ping) sets it on a lost connection and clears it on an answer.
 * 18 pings only on the browser's online/offline events; 19 also after a push's lost
 * connection (inferred), and then re-pings every PING_INTERVAL_MS until one answers.
 */
export function hasOfflineMode(version: PosVersion): boolean {
  return version === '18' || version === '19';
}

/** 19: a push's lost connection puts the till offline and starts the ping loop. */
export function goesOfflineOnConnectionLost(version: PosVersion): boolean {
  return version === '19';
}

/** What one order becomes after a call. */
export type OrderOutcome =
  /** 16/17: removed from local storage (the till forgets it). */
  | { kind: 'deleted' }
  /** 18/19: it has its numeric server id. */
  | { kind: 'synced'; serverId: number }
  /** Still held; `requeue: false` = out of the pending set, sent again only at the next start. */
  | { kind: 'pending'; requeue: boolean }
  /** Back to unpaid: the cashier may charge the customer again. */
  | { kind: 'reverted' };

export interface CallVerdict {
  outcomes: Array<{ uuid: string; outcome: OrderOutcome }>;
  /** 16: an RPCError on a batch → the same orders again at once, one per call. */
  retryEachAlone: boolean;
  /** 19: the till marks itself offline and starts pinging. */
  goOffline: boolean;
  /** The push threw (ends 19's Validate loop). */
  failed: boolean;
}

export interface CallContext {
  trigger: PushTrigger;
  sent: readonly string[];
  /** The order the cashier just validated, when the trigger is 'validate'. */
  validated?: string;
}

export function judgeCall(version: PosVersion, ctx: CallContext, answer: RpcAnswer): CallVerdict {
  const all = (outcome: OrderOutcome) => ctx.sent.map((uuid) => ({ uuid, outcome }));
  const held = all({ kind: 'pending', requeue: true });
  const verdict = (outcomes: CallVerdict['outcomes'], failed: boolean): CallVerdict => ({
    outcomes,
    retryEachAlone: false,
    goOffline: false,
    failed,
  });

  if (answer.kind === 'connection-lost') {
    return { ...verdict(held, true), goOffline: goesOfflineOnConnectionLost(version) };
  }
  switch (version) {
    case '16':
      if (answer.kind === 'result') return verdict(all({ kind: 'deleted' }), !Array.isArray(answer.result));
      return { ...verdict(held, true), retryEachAlone: ctx.sent.length > 1 };
    case '17':
      if (answer.kind === 'result' && isIterableOfReadable(answer.result)) return verdict(all({ kind: 'deleted' }), false);
      return verdict(ctx.trigger === 'validate' ? all({ kind: 'reverted' }) : held, true);
    case '18':
    case '19': {
      if (answer.kind === 'rpc-error') return verdict(revertValidated(ctx, held), true);
      const result = answer.result;
      if (!isLoadableDict(result, version)) return verdict(held, true);
      const outcomes = ctx.sent.map((uuid) => {
        const serverId = serverIdFor(result, uuid);
        const outcome: OrderOutcome =
          serverId === undefined ? { kind: 'pending', requeue: false } : { kind: 'synced', serverId };
        return { uuid, outcome };
      });
      // 19 dequeues the order before reading `pos.session`, then throws on its absence.
      return verdict(outcomes, !Array.isArray(result['pos.session']));
    }
  }
}

/** The server id an 18/19 answer gives the order with this uuid, if any. */
export function serverIdFor(result: unknown, uuid: string): number | undefined {
  if (!isRecord(result)) return undefined;
  const orders = result['pos.order'];
  if (!Array.isArray(orders)) return undefined;
  for (const rec of orders) {
    if (isRecord(rec) && rec.uuid === uuid && Number.isInteger(rec.id)) return rec.id as number;
  }
  return undefined;
}

/** 18/19 `handleValidationError`: an RPCError at Validate puts the current order back to draft. */
function revertValidated(ctx: CallContext, held: CallVerdict['outcomes']): CallVerdict['outcomes'] {
  const validated = ctx.validated;
  if (ctx.trigger !== 'validate' || validated === undefined) return held;
  const others = held.filter((o) => o.uuid !== validated);
  return [...others, { uuid: validated, outcome: { kind: 'reverted' } }];
}

/** 17 iterates the result and reads `.pos_reference` of each element. */
function isIterableOfReadable(result: unknown): boolean {
  if (typeof result === 'string') return true;
  return Array.isArray(result) && result.every((e) => e !== null && e !== undefined);
}

/**
 * 18/19: `missingRecursive` maps every value's records (`r.id`), then the store loops over
 * `pos.order.line`; 18 also reads `pos.session.length` before dequeuing.
 */
function isLoadableDict(result: unknown, version: '18' | '19'): result is Record<string, unknown> {
  if (!isRecord(result)) return false;
  for (const value of Object.values(result)) {
    if (!Array.isArray(value) || value.some((r) => r === null || r === undefined)) return false;
  }
  if (!Array.isArray(result['pos.order.line'])) return false;
  return version === '19' || Array.isArray(result['pos.session']);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
