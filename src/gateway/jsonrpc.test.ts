import { describe, expect, it } from 'vitest';
import { callDigest, callFromUrl, isJsonRpcPath, isReadCall, jsonRpcErrorOf, parseJsonRpc, requestIdOf, withRequestId } from './jsonrpc.js';

const kw = (model: unknown, method: unknown) => JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { model, method, args: [], kwargs: {} } });
const execKw = (model: string, method: string) =>
  JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { service: 'object', method: 'execute_kw', args: ['db', 2, 'pw', model, method, [[]]] } });

describe('Odoo JSON-RPC parsing', () => {
  it('knows the JSON-RPC endpoints', () => {
    expect(isJsonRpcPath('/jsonrpc')).toBe(true);
    expect(isJsonRpcPath('/web/dataset/call_kw')).toBe(true);
    expect(isJsonRpcPath('/web/dataset/call_kw/pos.order/sync_from_ui')).toBe(true);
    expect(isJsonRpcPath('/web/dataset/call_kwx')).toBe(false);
    expect(isJsonRpcPath('/web/image/1')).toBe(false);
  });

  it('reads the URL form', () => {
    expect(callFromUrl('/web/dataset/call_kw/pos.order/sync_from_ui')).toEqual({ model: 'pos.order', method: 'sync_from_ui' });
    expect(callFromUrl('/web/dataset/call_kw/pos.order')).toBeUndefined();
    expect(callFromUrl('/web/dataset/call_kw')).toBeUndefined();
  });

  it('reads the body form of call_kw', () => {
    expect(parseJsonRpc('/web/dataset/call_kw', kw('product.product', 'search_read'))).toMatchObject({ ok: true, call: { model: 'product.product', method: 'search_read' } });
  });

  it('reads execute_kw on /jsonrpc', () => {
    expect(parseJsonRpc('/jsonrpc', execKw('stock.picking', 'button_validate'))).toMatchObject({ ok: true, call: { model: 'stock.picking', method: 'button_validate' } });
  });

  it('names service calls that have no model', () => {
    const body = JSON.stringify({ params: { service: 'common', method: 'login', args: ['db', 'u', 'p'] } });
    expect(parseJsonRpc('/jsonrpc', body)).toMatchObject({ ok: true, call: { model: '', method: 'common.login' } });
  });

  it('accepts a URL that agrees with the body', () => {
    expect(parseJsonRpc('/web/dataset/call_kw/pos.order/sync_from_ui', kw('pos.order', 'sync_from_ui')).ok).toBe(true);
  });

  it('refuses a URL that disagrees with the body (the body is what Odoo runs)', () => {
    const r = parseJsonRpc('/web/dataset/call_kw/product.product/search_read', kw('pos.order', 'unlink'));
    expect(r).toMatchObject({ ok: false });
    expect(!r.ok && r.reason).toMatch(/URL names product.product.search_read but the body calls pos.order.unlink/);
  });

  it.each<[string, string, string | Buffer]>([
    ['not JSON', '/jsonrpc', '{"params":'],
    ['an array (batch)', '/jsonrpc', '[{"params":{}}]'],
    ['no params', '/web/dataset/call_kw', '{"jsonrpc":"2.0"}'],
    ['params not an object', '/web/dataset/call_kw', '{"params":[1]}'],
    ['model not a string', '/web/dataset/call_kw', kw(42, 'read')],
    ['execute_kw without model', '/jsonrpc', JSON.stringify({ params: { service: 'object', method: 'execute_kw', args: ['db', 1, 'pw'] } })],
    ['invalid UTF-8 bytes', '/jsonrpc', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
  ])('rejects %s', (_name, path, body) => {
    expect(parseJsonRpc(path, body).ok).toBe(false);
  });
});

describe('JSON-RPC error answers', () => {
  const json = 'application/json; charset=utf-8';
  it('reads an Odoo error with its detail', () => {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.ValidationError', message: 'Order already closed' } } }));
    expect(jsonRpcErrorOf(body, json)).toBe('Odoo Server Error: Order already closed');
  });
  it('is undefined for a result, a non-JSON answer or unreadable JSON', () => {
    expect(jsonRpcErrorOf(Buffer.from('{"jsonrpc":"2.0","result":[1]}'), json)).toBeUndefined();
    expect(jsonRpcErrorOf(Buffer.from('{"error":"x"}'), 'text/html')).toBeUndefined();
    expect(jsonRpcErrorOf(Buffer.from('{'), json)).toBeUndefined();
  });
});

describe('JSON-RPC reads for the cache', () => {
  it('knows the ORM reads from the writes', () => {
    expect(isReadCall({ model: 'product.product', method: 'search_read' })).toBe(true);
    expect(isReadCall({ model: 'pos.session', method: 'load_pos_data' })).toBe(true);
    expect(isReadCall({ model: 'pos.order', method: 'sync_from_ui' })).toBe(false);
    expect(isReadCall({ model: 'product.product', method: 'write' })).toBe(false);
  });

  it('digests what a call asks, whatever its id or key order', () => {
    const a = callDigest({ jsonrpc: '2.0', id: 1, params: { model: 'm', method: 'read', args: [[1]] } });
    const b = callDigest({ params: { args: [[1]], method: 'read', model: 'm' }, id: 7, jsonrpc: '2.0' });
    const c = callDigest({ jsonrpc: '2.0', id: 1, params: { model: 'm', method: 'read', args: [[2]] } });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('gives a kept answer the id of the request it now answers', () => {
    const kept = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, result: [1] }));
    expect(JSON.parse(withRequestId(kept, requestIdOf({ id: 'abc' })).toString())).toEqual({ jsonrpc: '2.0', id: 'abc', result: [1] });
    expect(withRequestId(Buffer.from('not json'), 3).toString()).toBe('not json');
  });
});
