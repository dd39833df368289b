// pos.order as the simulated ERP keeps it, and the two ways the POS pushes
// orders into it. Pure state and logic: the simulator hands in parsed calls.
//
// Modelled on point_of_sale/models/pos_order.py as read in public copies of
// Odoo's source:
// - 16.0 (a 16.0 tree, create_from_ui + _is_the_same_order): per order in
//   args[0], a truthy data.server_id only ever updates that order while it is
//   draft, and is skipped otherwise; else a draft with pos_reference ==
//   data.name is updated; else the order is created unless an order with that
//   pos_reference "is the same" (every payment sent matches one it has, same
//   number of lines, same sorted (product_id, price_unit)), in which case it
//   is skipped. Answer: search_read([('id','in',order_ids)], ['id',
//   'pos_reference', 'account_move'], load=False), so skipped orders are
//   missing and the list comes in pos.order's _order ("date_order desc, name
//   desc, id desc"), modelled here as newest id first. Any exception
//   re-raises: the whole call rolls back. 17.0's create_from_ui was not found
//   in the stored copies; ODOO-POS.md describes the same rules for 17, so 17
//   is modelled like 16.
// - 18.0 (sync_from_ui, _get_open_order, read_pos_data): per order,
//   existing = search([('uuid','=',order['uuid'])], limit=1); a draft one is
//   updated, none means create, and otherwise ("sync ignored for existing PoS
//   order") its id is STILL appended to order_ids. The answer is
//   {'pos.order': read(order_ids), 'pos.session', 'pos.payment',
//   'pos.order.line', 'pos.pack.operation.lot', 'product.attribute.custom.value'},
//   so a repeated order comes back with its server id, which is what lets
//   18's POS drop it. 19 is modelled like 18.
//
// Simplifications: no lines, payments or sessions are stored beyond what the
// dedupe needs, the answer's other lists are empty, account_move is false.
// Missing lines/payments count as none; only 16/17's data.name is required
// (Odoo's KeyError on it fails the whole call, as here).
//
// Failure trigger for tests: an order carrying `"_sim_fail": true` where Odoo
// reads its fields (16/17: in `data`; 18/19: on the order itself) fails the
// call with a UserError and nothing of that call is committed.
import type { Commit, Outcome } from './ledger.js';
import { isObject, serverError, userError, type OdooError } from './odoo-rpc.js';

export type PosOrderState = 'draft' | 'paid';

interface Line {
  product: unknown;
  price: number;
}
interface Payment {
  amount: number;
  method: unknown;
}

export interface PosOrderRecord {
  id: number;
  uuid: string | null;
  posReference: string | null;
  state: PosOrderState;
  amountTotal: number;
  sessionId: unknown;
  lines: Line[];
  payments: Payment[];
}

/** One order of a push, read the way its Odoo version reads it. */
interface Incoming {
  uuid: string | null;
  posReference: string | null;
  serverId: number | null;
  state: PosOrderState;
  amountTotal: number;
  sessionId: unknown;
  lines: Line[];
  payments: Payment[];
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** The vals of ORM commands [[0, 0, vals], ...]; anything else in the list is ignored. */
function commandVals(v: unknown): Record<string, unknown>[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((c: unknown) => (Array.isArray(c) && isObject(c[2]) ? [c[2]] : []));
}

const lines = (v: unknown): Line[] => commandVals(v).map((l) => ({ product: l.product_id, price: num(l.price_unit) }));
const payments = (v: unknown): Payment[] => commandVals(v).map((p) => ({ amount: num(p.amount), method: p.payment_method_id }));

function simulatedFailure(ref: string | null): OdooError {
  return userError(`Simulated failure of order ${ref ?? '(no reference)'}: the whole call is rolled back`);
}

/** A 16/17 batch entry {id, data: {name, uid, server_id, ...}, to_invoice}. */
function readLegacy(order: unknown, draft: boolean): Incoming | OdooError {
  const data = isObject(order) && isObject(order.data) ? order.data : undefined;
  if (data === undefined) return serverError('builtins.KeyError', "'data'");
  const name = str(data.name);
  if (name === null) return serverError('builtins.KeyError', "'name'");
  if (data._sim_fail === true) return simulatedFailure(name);
  const serverId = typeof data.server_id === 'number' && data.server_id > 0 ? data.server_id : null;
  return { uuid: str(data.uid), posReference: name, serverId, state: draft ? 'draft' : 'paid', amountTotal: num(data.amount_total), sessionId: data.pos_session_id ?? false, lines: lines(data.lines), payments: payments(data.statement_ids) };
}

/** An 18/19 order {uuid, pos_reference, state, lines, payment_ids, ...}. */
function readModern(order: unknown): Incoming | OdooError {
  if (!isObject(order)) return serverError('builtins.TypeError', 'each order must be a dict');
  const ref = str(order.pos_reference);
  if (order._sim_fail === true) return simulatedFailure(ref ?? str(order.uuid));
  return { uuid: str(order.uuid), posReference: ref, serverId: null, state: order.state === 'draft' ? 'draft' : 'paid', amountTotal: num(order.amount_total), sessionId: order.session_id ?? false, lines: lines(order.lines), payments: payments(order.payment_ids) };
}

/** Reads every order first: a bad one fails the call before anything is written, which is what rolling back the transaction leaves. */
function readAll(list: unknown, read: (o: unknown) => Incoming | OdooError): Incoming[] | OdooError {
  if (!Array.isArray(list)) return serverError('builtins.TypeError', 'args[0] must be a list of orders');
  const out: Incoming[] = [];
  for (const o of list) {
    const r = read(o);
    if ('code' in r) return r;
    out.push(r);
  }
  return out;
}

/** Odoo's _is_the_same_order (16.0). */
function isSameOrder(incoming: Incoming, existing: PosOrderRecord): boolean {
  const paid = incoming.payments.every((p) => existing.payments.some((e) => Math.abs(p.amount - e.amount) < 1e-9 && p.method === e.method));
  if (!paid || incoming.lines.length !== existing.lines.length) return false;
  const sorted = (ls: Line[]) => ls.map((l) => JSON.stringify([l.product, l.price])).sort().join('\n');
  return sorted(incoming.lines) === sorted(existing.lines);
}

export class PosOrders {
  #byId = new Map<number, PosOrderRecord>();
  #byUuid = new Map<string, PosOrderRecord>();
  #byRef = new Map<string, PosOrderRecord[]>();

  /** 16/17: create_from_ui(orders, draft=False). */
  createFromUi(args: unknown[], kwargs: Record<string, unknown>): Outcome {
    const draft = Boolean(args[1] ?? kwargs.draft ?? false);
    const orders = readAll(args[0], (o) => readLegacy(o, draft));
    if (!Array.isArray(orders)) return { ok: false, error: orders };
    const ids: number[] = [];
    const commits: Commit[] = [];
    let repeated = false;
    for (const o of orders) {
      let target: PosOrderRecord | undefined;
      if (o.serverId !== null) {
        target = this.#byId.get(o.serverId);
        if (target?.state !== 'draft') {
          repeated ||= target !== undefined;
          continue;
        }
      }
      const sameRef = this.#byRef.get(o.posReference!) ?? [];
      target ??= sameRef.find((r) => r.state === 'draft');
      if (target === undefined && sameRef.some((r) => isSameOrder(o, r))) {
        repeated = true;
        continue;
      }
      const rec = target === undefined ? this.#insert(o) : this.#update(target, o);
      ids.push(rec.id);
      commits.push({ uuid: o.uuid, posReference: o.posReference, model: 'pos.order', method: 'create_from_ui', recordId: rec.id });
    }
    const result = [...new Set(ids)].sort((a, b) => b - a).map((id) => ({ id, pos_reference: this.#byId.get(id)!.posReference, account_move: false }));
    return { ok: true, result, commits, repeated };
  }

  /** 18/19: sync_from_ui(orders). */
  syncFromUi(args: unknown[]): Outcome {
    const orders = readAll(args[0], readModern);
    if (!Array.isArray(orders)) return { ok: false, error: orders };
    const ids: number[] = [];
    const commits: Commit[] = [];
    let repeated = false;
    for (const o of orders) {
      const existing = o.uuid === null ? undefined : this.#byUuid.get(o.uuid);
      if (existing !== undefined && existing.state !== 'draft') {
        // "sync ignored for existing PoS order": nothing written, but the id is answered.
        repeated = true;
        ids.push(existing.id);
        continue;
      }
      const rec = existing === undefined ? this.#insert(o) : this.#update(existing, o);
      ids.push(rec.id);
      commits.push({ uuid: o.uuid, posReference: o.posReference, model: 'pos.order', method: 'sync_from_ui', recordId: rec.id });
    }
    const records = [...new Set(ids)].map((id) => this.#read(this.#byId.get(id)!));
    const result = { 'pos.order': records, 'pos.session': [], 'pos.payment': [], 'pos.order.line': [], 'pos.pack.operation.lot': [], 'product.attribute.custom.value': [] };
    return { ok: true, result, commits, repeated };
  }

  count(): number {
    return this.#byId.size;
  }

  reset(): void {
    this.#byId.clear();
    this.#byUuid.clear();
    this.#byRef.clear();
  }

  /** The fields 18's POS needs back from pos.order (a subset of _load_pos_data_fields). */
  #read(r: PosOrderRecord): Record<string, unknown> {
    return { id: r.id, uuid: r.uuid ?? false, pos_reference: r.posReference ?? false, name: `Shop/${String(r.id).padStart(4, '0')}`, state: r.state, amount_total: r.amountTotal, session_id: r.sessionId };
  }

  #insert(o: Incoming): PosOrderRecord {
    const rec: PosOrderRecord = { id: this.#byId.size + 1, uuid: o.uuid, posReference: o.posReference, state: o.state, amountTotal: o.amountTotal, sessionId: o.sessionId, lines: o.lines, payments: o.payments };
    this.#byId.set(rec.id, rec);
    if (rec.uuid !== null) this.#byUuid.set(rec.uuid, rec);
    if (rec.posReference !== null) this.#byRef.set(rec.posReference, [...(this.#byRef.get(rec.posReference) ?? []), rec]);
    return rec;
  }

  /** Rewrites a draft order with what was sent; its uuid and reference stay, as they are what found it. */
  #update(rec: PosOrderRecord, o: Incoming): PosOrderRecord {
    Object.assign(rec, { state: o.state, amountTotal: o.amountTotal, sessionId: o.sessionId, lines: o.lines, payments: o.payments });
    return rec;
  }
}
