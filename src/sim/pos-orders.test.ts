import { describe, expect, it } from 'vitest';
import type { Outcome } from './ledger.js';
import { PosOrders } from './pos-orders.js';

type Json = Record<string, unknown>;

/** A 16/17 batch entry. */
const legacy = (name: string, data: Json = {}): Json => ({ id: name, data: { name, uid: name.slice(6), amount_total: 10, lines: [[0, 0, { product_id: 1, price_unit: 10 }]], statement_ids: [[0, 0, { amount: 10, payment_method_id: 1 }]], ...data }, to_invoice: false });
/** An 18/19 order. */
const modern = (uuid: string, extra: Json = {}): Json => ({ uuid, pos_reference: `Order ${uuid}`, state: 'paid', amount_total: 12.5, ...extra });

function ok(o: Outcome): Extract<Outcome, { ok: true }> {
  if (!o.ok) throw new Error(`expected success, got ${JSON.stringify(o.error)}`);
  return o;
}

describe('PosOrders.createFromUi (16/17)', () => {
  it('creates each new order and answers [{id, pos_reference, account_move}], newest first', () => {
    const pos = new PosOrders();
    const o = ok(pos.createFromUi([[legacy('Order 00001-001-0001'), legacy('Order 00001-001-0002')], false], {}));
    expect(o.result).toEqual([
      { id: 2, pos_reference: 'Order 00001-001-0002', account_move: false },
      { id: 1, pos_reference: 'Order 00001-001-0001', account_move: false },
    ]);
    expect(o.commits).toEqual([
      { uuid: '00001-001-0001', posReference: 'Order 00001-001-0001', model: 'pos.order', method: 'create_from_ui', recordId: 1 },
      { uuid: '00001-001-0002', posReference: 'Order 00001-001-0002', model: 'pos.order', method: 'create_from_ui', recordId: 2 },
    ]);
    expect(o.repeated).toBe(false);
  });

  it('skips an order it already has (same pos_reference, payments and lines): missing from the answer', () => {
    const pos = new PosOrders();
    ok(pos.createFromUi([[legacy('Order A')]], {}));
    const again = ok(pos.createFromUi([[legacy('Order A'), legacy('Order B')]], {}));
    expect(again.result).toEqual([{ id: 2, pos_reference: 'Order B', account_move: false }]);
    expect(again.commits.map((c) => c.posReference)).toEqual(['Order B']);
    expect(again.repeated).toBe(true);
    expect(pos.count()).toBe(2);
  });

  it('answers an all-repeated batch with an empty list', () => {
    const pos = new PosOrders();
    ok(pos.createFromUi([[legacy('Order A')]], {}));
    expect(ok(pos.createFromUi([[legacy('Order A')]], {}))).toMatchObject({ result: [], commits: [], repeated: true });
  });

  it('creates a second order under a pos_reference it has when lines or payments differ, as _is_the_same_order decides', () => {
    const pos = new PosOrders();
    ok(pos.createFromUi([[legacy('Order A')]], {}));
    expect(ok(pos.createFromUi([[legacy('Order A', { lines: [[0, 0, { product_id: 2, price_unit: 10 }]] })]], {})).commits).toHaveLength(1);
    expect(ok(pos.createFromUi([[legacy('Order A', { statement_ids: [[0, 0, { amount: 9, payment_method_id: 1 }]] })]], {})).commits).toHaveLength(1);
    expect(pos.count()).toBe(3);
  });

  it('keeps a draft updatable: a draft push, then the paid push of the same order, write one record', () => {
    const pos = new PosOrders();
    const draft = ok(pos.createFromUi([[legacy('Order A')], true], {}));
    const paid = ok(pos.createFromUi([[legacy('Order A')]], { draft: false }));
    expect(draft.result).toEqual([{ id: 1, pos_reference: 'Order A', account_move: false }]);
    expect(paid.result).toEqual([{ id: 1, pos_reference: 'Order A', account_move: false }]);
    expect(paid.commits).toMatchObject([{ recordId: 1 }]);
    expect(pos.count()).toBe(1);
  });

  it('with a server_id, only ever updates that draft, and skips the order otherwise', () => {
    const pos = new PosOrders();
    ok(pos.createFromUi([[legacy('Order A')], true], {}));
    expect(ok(pos.createFromUi([[legacy('Order A', { server_id: 1 })]], {})).result).toEqual([{ id: 1, pos_reference: 'Order A', account_move: false }]);
    expect(ok(pos.createFromUi([[legacy('Order A', { server_id: 1 })]], {}))).toMatchObject({ result: [], repeated: true });
    expect(ok(pos.createFromUi([[legacy('Order Z', { server_id: 99 })]], {}))).toMatchObject({ result: [], repeated: false });
    expect(pos.count()).toBe(1);
  });

  it('rolls back the whole batch when one order fails (_sim_fail in data, or no data.name)', () => {
    const pos = new PosOrders();
    const failed = pos.createFromUi([[legacy('Order A'), legacy('Order B', { _sim_fail: true })]], {});
    expect(failed).toMatchObject({ ok: false, error: { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.UserError' } } });
    expect(pos.count()).toBe(0);
    expect(pos.createFromUi([[legacy('Order A'), { id: 'x', data: { uid: 'x' } }]], {})).toMatchObject({ ok: false, error: { data: { name: 'builtins.KeyError', message: "'name'" } } });
    expect(pos.createFromUi(['not a list'], {})).toMatchObject({ ok: false });
    expect(pos.count()).toBe(0);
  });
});

describe('PosOrders.syncFromUi (18/19)', () => {
  it('answers the dict of record lists, creating new orders', () => {
    const pos = new PosOrders();
    const o = ok(pos.syncFromUi([[modern('u-1'), modern('u-2')]]));
    expect(o.result).toEqual({
      'pos.order': [
        { id: 1, uuid: 'u-1', pos_reference: 'Order u-1', name: 'Shop/0001', state: 'paid', amount_total: 12.5, session_id: false },
        { id: 2, uuid: 'u-2', pos_reference: 'Order u-2', name: 'Shop/0002', state: 'paid', amount_total: 12.5, session_id: false },
      ],
      'pos.session': [],
      'pos.payment': [],
      'pos.order.line': [],
      'pos.pack.operation.lot': [],
      'product.attribute.custom.value': [],
    });
    expect(o.commits).toEqual([
      { uuid: 'u-1', posReference: 'Order u-1', model: 'pos.order', method: 'sync_from_ui', recordId: 1 },
      { uuid: 'u-2', posReference: 'Order u-2', model: 'pos.order', method: 'sync_from_ui', recordId: 2 },
    ]);
  });

  it('answers an order it already has (not draft) with its id again, writing nothing', () => {
    const pos = new PosOrders();
    ok(pos.syncFromUi([[modern('u-1')]]));
    const again = ok(pos.syncFromUi([[modern('u-1'), modern('u-2')]]));
    expect((again.result as { 'pos.order': Json[] })['pos.order'].map((r) => [r.id, r.uuid])).toEqual([
      [1, 'u-1'],
      [2, 'u-2'],
    ]);
    expect(again.commits.map((c) => c.uuid)).toEqual(['u-2']);
    expect(again.repeated).toBe(true);
  });

  it('updates a draft order in place, then leaves it alone once paid', () => {
    const pos = new PosOrders();
    ok(pos.syncFromUi([[modern('u-1', { state: 'draft' })]]));
    const paid = ok(pos.syncFromUi([[modern('u-1', { amount_total: 20 })]]));
    expect(paid.commits).toMatchObject([{ recordId: 1 }]);
    expect((paid.result as { 'pos.order': Json[] })['pos.order']).toMatchObject([{ id: 1, state: 'paid', amount_total: 20 }]);
    expect(ok(pos.syncFromUi([[modern('u-1', { amount_total: 99 })]]))).toMatchObject({ commits: [], repeated: true });
    expect(pos.count()).toBe(1);
  });

  it('lists an order sent twice in one call once', () => {
    const pos = new PosOrders();
    const o = ok(pos.syncFromUi([[modern('u-1'), modern('u-1')]]));
    expect((o.result as { 'pos.order': Json[] })['pos.order']).toHaveLength(1);
    expect(o.commits).toHaveLength(1);
  });

  it('answers an empty call with empty lists', () => {
    expect(ok(new PosOrders().syncFromUi([[]])).result).toMatchObject({ 'pos.order': [], 'pos.session': [], 'pos.order.line': [] });
  });

  it('rolls back the whole call when one order carries _sim_fail', () => {
    const pos = new PosOrders();
    expect(pos.syncFromUi([[modern('u-1'), modern('u-2', { _sim_fail: true })]])).toMatchObject({ ok: false, error: { data: { name: 'odoo.exceptions.UserError' } } });
    expect(pos.count()).toBe(0);
    expect(ok(pos.syncFromUi([[modern('u-1')]])).commits).toHaveLength(1);
  });

  it('forgets every order on reset', () => {
    const pos = new PosOrders();
    ok(pos.syncFromUi([[modern('u-1')]]));
    pos.reset();
    expect(ok(pos.syncFromUi([[modern('u-1')]])).commits).toMatchObject([{ recordId: 1 }]);
  });
});
