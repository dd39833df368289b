import { describe, expect, it } from 'vitest';
import { isOdooPath, isRead, parseOdooCall, posOrderUuids, readResult, requestId, type OdooCall } from './odoo-rpc.js';

const kwBody = (params: Record<string, unknown>) => ({ jsonrpc: '2.0', method: 'call', id: 7, params });
const execKw = (...args: unknown[]) => ({ jsonrpc: '2.0', method: 'call', id: 9, params: { service: 'object', method: 'execute_kw', args } });
const call = (model: string, method: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): OdooCall => ({ id: 1, model, method, args, kwargs });

describe('parseOdooCall', () => {
  it('reads call_kw from the body, whatever the URL names', () => {
    const body = kwBody({ model: 'pos.order', method: 'sync_from_ui', args: [[{ uuid: 'u' }]], kwargs: { context: {} } });
    expect(parseOdooCall('/web/dataset/call_kw', body)).toEqual({ id: 7, model: 'pos.order', method: 'sync_from_ui', args: [[{ uuid: 'u' }]], kwargs: { context: {} } });
    expect(parseOdooCall('/web/dataset/call_kw/res.partner/read', body)).toMatchObject({ model: 'pos.order', method: 'sync_from_ui' });
  });

  it('reads execute_kw on /jsonrpc', () => {
    expect(parseOdooCall('/jsonrpc', execKw('db', 2, 'pw', 'stock.quant', 'action_apply_inventory', [[5]], { context: { lang: 'en_US' } }))).toEqual({
      id: 9,
      model: 'stock.quant',
      method: 'action_apply_inventory',
      args: [[5]],
      kwargs: { context: { lang: 'en_US' } },
    });
  });

  it('defaults missing args, kwargs and id', () => {
    expect(parseOdooCall('/web/dataset/call_kw', { params: { model: 'm', method: 'x' } })).toEqual({ id: null, model: 'm', method: 'x', args: [], kwargs: {} });
    expect(parseOdooCall('/jsonrpc', execKw('db', 2, 'pw', 'm', 'x'))).toMatchObject({ args: [], kwargs: {} });
  });

  it('refuses bodies that name no model and method', () => {
    for (const body of [null, 3, 'x', [], {}, { params: [] }, kwBody({ model: 'm' }), kwBody({ model: 1, method: 'x' })]) {
      expect(parseOdooCall('/web/dataset/call_kw', body)).toHaveProperty('error');
    }
    expect(parseOdooCall('/jsonrpc', kwBody({ service: 'common', method: 'login', args: ['db', 'u', 'p'] }))).toHaveProperty('error');
    expect(parseOdooCall('/jsonrpc', execKw('db', 2, 'pw', 'm'))).toHaveProperty('error');
    // A call_kw body sent to /jsonrpc is not an execute_kw.
    expect(parseOdooCall('/jsonrpc', kwBody({ model: 'm', method: 'x' }))).toHaveProperty('error');
  });

  it('finds the request id of any JSON body', () => {
    expect(requestId({ id: 'a' })).toBe('a');
    expect(requestId({})).toBeNull();
    expect(requestId([1])).toBeNull();
  });
});

describe('Odoo paths and reads', () => {
  it('knows the JSON-RPC endpoints', () => {
    expect(['/jsonrpc', '/web/dataset/call_kw', '/web/dataset/call_kw/pos.order/sync_from_ui'].every(isOdooPath)).toBe(true);
    expect(['/jsonrpc/x', '/web/dataset/call_kwx', '/web/image/1', '/ping'].some(isOdooPath)).toBe(false);
  });

  it('tells reads from writes', () => {
    for (const m of ['search_read', 'search', 'search_count', 'read', 'read_group', 'name_search', 'fields_get', 'load_pos_data', 'get_views', 'default_get']) expect(isRead(m), m).toBe(true);
    for (const m of ['sync_from_ui', 'create_from_ui', 'button_validate', 'action_apply_inventory', 'create', 'write', 'unlink']) expect(isRead(m), m).toBe(false);
  });

  it('serves a deterministic product catalog, honouring limit (default 80)', () => {
    const products = readResult(call('product.product', 'search_read', [[]], { limit: 3 }));
    expect(products).toEqual(readResult(call('product.product', 'search_read', [[]], { limit: 3 })));
    expect(products.map((p) => p.id)).toEqual([1, 2, 3]);
    expect(products[0]).toEqual({ id: 1, display_name: 'Product 1', list_price: expect.any(Number), barcode: expect.stringMatching(/^\d{13}$/) });
    expect(readResult(call('product.product', 'search_read'))).toHaveLength(80);
    expect(readResult(call('product.product', 'search_read', [], { limit: -1 }))).toEqual([]);
  });

  it('answers every other read with an empty list', () => {
    expect(readResult(call('res.partner', 'search_read'))).toEqual([]);
    expect(readResult(call('product.product', 'read', [[1]]))).toEqual([]);
  });
});

describe('posOrderUuids', () => {
  it("finds each order's uuid as Odoo versions name it", () => {
    const orders = [{ uuid: 'a' }, { data: { uuid: 'b' } }, { id: 'c', data: { uid: 'c-uid' } }, { id: 'd' }, { id: 42 }, {}];
    expect(posOrderUuids(call('pos.order', 'create_from_ui', [orders]))).toEqual(['a', 'b', 'c-uid', 'd', null, null]);
  });

  it('prefers order.uuid over data.uuid over data.uid over id', () => {
    expect(posOrderUuids(call('pos.order', 'sync_from_ui', [[{ uuid: 'u', id: 'i', data: { uuid: 'du', uid: 'uid' } }]]))).toEqual(['u']);
    expect(posOrderUuids(call('pos.order', 'sync_from_ui', [[{ id: 'i', data: { uuid: 'du', uid: 'uid' } }]]))).toEqual(['du']);
  });

  it('is undefined for calls that carry no orders', () => {
    expect(posOrderUuids(call('pos.order', 'write', [[5], { note: 'x' }]))).toBeUndefined();
    expect(posOrderUuids(call('pos.order', 'sync_from_ui', []))).toBeUndefined();
    expect(posOrderUuids(call('stock.picking', 'sync_from_ui', [[{ uuid: 'a' }]]))).toBeUndefined();
  });

  it('reads an empty batch as no orders', () => {
    expect(posOrderUuids(call('pos.order', 'sync_from_ui', [[]]))).toEqual([]);
  });
});
