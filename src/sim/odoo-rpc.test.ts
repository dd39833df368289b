import { describe, expect, it } from 'vitest';
import { isOdooPath, isRead, missingMethod, notFound, parseOdooCall, readResult, requestId, rpcFailure, serverError, userError, type OdooCall } from './odoo-rpc.js';

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

describe('Odoo error answers', () => {
  it('serializes an exception the way Odoo does: code 200, "Odoo Server Error", module-qualified name', () => {
    expect(serverError('odoo.exceptions.ValidationError', 'bad')).toEqual({
      code: 200,
      message: 'Odoo Server Error',
      data: { name: 'odoo.exceptions.ValidationError', message: 'bad', arguments: ['bad'], context: {}, debug: expect.stringContaining('ValidationError: bad') },
    });
    expect(userError('no').data.name).toBe('odoo.exceptions.UserError');
  });

  it("words a missing method as call_kw's AttributeError", () => {
    expect(missingMethod('pos.order', 'sync_from_ui').data).toMatchObject({ name: 'builtins.AttributeError', message: "The method 'sync_from_ui' does not exist on the model 'pos.order'" });
  });

  it('answers an unknown path with code 404', () => {
    expect(notFound()).toMatchObject({ code: 404, message: '404: Not Found', data: { name: 'werkzeug.exceptions.NotFound' } });
  });

  it('wraps an error in a JSON-RPC envelope', () => {
    expect(rpcFailure(4, userError('x'))).toEqual({ jsonrpc: '2.0', id: 4, error: userError('x') });
  });
});
