import { describe, expect, it } from 'vitest';
import { orderingKey, requestKeys, type KeyedRequest } from './idempotency.js';

const order = { jsonrpc: '2.0', id: 7, params: { model: 'pos.order', method: 'sync_from_ui', args: [[{ uuid: '0b6b2f7e-order-1' }, { uuid: 'second' }]] } };
const header = { idempotencyKey: { header: 'Idempotency-Key' } };
const firstUuid = { idempotencyKey: { jsonPath: 'params.args[0][0].uuid' } };
const batch = { idempotencyKey: { jsonPath: 'params.args[0][*].uuid' } };

describe('idempotency keys', () => {
  it('takes the header the route names', () => {
    expect(requestKeys(header, { headers: { 'idempotency-key': ' k-1 ' }, json: undefined })).toEqual({ ok: true, items: [{ key: 'k-1' }], batch: false });
  });
  it("takes the POS order's uuid from the body", () => {
    expect(requestKeys(firstUuid, { headers: {}, json: order })).toEqual({ ok: true, items: [{ key: '0b6b2f7e-order-1' }], batch: false });
  });
  it('accepts a numeric key', () => {
    expect(requestKeys({ idempotencyKey: { jsonPath: '$.id' } }, { headers: {}, json: { id: 42 } })).toMatchObject({ ok: true, items: [{ key: '42' }] });
  });
  it('generates a fresh key only where the route asks for one', () => {
    const route = { idempotencyKey: { generate: true as const } };
    const a = requestKeys(route, { headers: {}, json: undefined });
    const b = requestKeys(route, { headers: {}, json: undefined });
    expect(a.ok && a.items[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.ok && b.ok && a.items[0]!.key !== b.items[0]!.key).toBe(true);
  });

  it.each<[string, KeyedRequest, Parameters<typeof requestKeys>[0], RegExp]>([
    ['no source configured', { headers: { 'idempotency-key': 'x' }, json: undefined }, {}, /no idempotency key source/],
    ['header missing', { headers: {}, json: undefined }, header, /Idempotency-Key header: found nothing/],
    ['empty header', { headers: { 'idempotency-key': '  ' }, json: undefined }, header, /empty string/],
    ['over-long header', { headers: { 'idempotency-key': 'x'.repeat(256) }, json: undefined }, header, /256 characters/],
    ['a body that is not JSON', { headers: {}, json: undefined }, firstUuid, /not JSON/],
    ['path missing in body', { headers: {}, json: { params: {} } }, firstUuid, /found nothing/],
    ['a null key', { headers: {}, json: { params: { args: [[{ uuid: null }]] } } }, firstUuid, /found null/],
    ['an object for a key', { headers: {}, json: order }, { idempotencyKey: { jsonPath: 'params.args[0][0]' } }, /found an object/],
    ['a boolean for a key', { headers: {}, json: { params: { args: [[{ uuid: true }]] } } }, firstUuid, /found a boolean/],
  ])('refuses the request when %s (a made-up key would turn a re-send into a second write)', (_name, req, route, reason) => {
    const keys = requestKeys(route, req);
    expect(keys.ok).toBe(false);
    if (!keys.ok) expect(keys.reason).toMatch(reason);
  });

  describe('a batch', () => {
    it('gives every item its own key and a body that carries it alone, in the same envelope', () => {
      const keys = requestKeys(batch, { headers: {}, json: order });
      expect(keys).toMatchObject({ ok: true, batch: true });
      if (!keys.ok) return;
      expect(keys.items.map((i) => i.key)).toEqual(['0b6b2f7e-order-1', 'second']);
      expect(keys.items[1]!.json).toEqual({ ...order, params: { ...order.params, args: [[{ uuid: 'second' }]] } });
    });
    it('keeps the rest of args (create_from_ui\'s draft flag) and takes a key below each item', () => {
      const body = { params: { args: [[{ id: 'u1', data: { name: 'Order 1' } }, { id: 'u2', data: { name: 'Order 2' } }], false] } };
      const keys = requestKeys({ idempotencyKey: { jsonPath: 'params.args[0][*].data.name' } }, { headers: {}, json: body });
      expect(keys.ok && keys.items.map((i) => [i.key, i.json])).toEqual([
        ['Order 1', { params: { args: [[{ id: 'u1', data: { name: 'Order 1' } }], false] } }],
        ['Order 2', { params: { args: [[{ id: 'u2', data: { name: 'Order 2' } }], false] } }],
      ]);
    });
    it('takes the same order twice in one batch as one write', () => {
      const keys = requestKeys(batch, { headers: {}, json: { params: { args: [[{ uuid: 'a' }, { uuid: 'a' }]] } } });
      expect(keys.ok && keys.items.map((i) => i.key)).toEqual(['a']);
    });
    it.each<[string, unknown, RegExp]>([
      ['an empty batch', { params: { args: [[]] } }, /no list of items/],
      ['no batch at all', { params: { args: [] } }, /no list of items/],
      ['one order without a uuid', { params: { args: [[{ uuid: 'a' }, { name: 'b' }]] } }, /item 1 of the batch has no usable key/],
    ])('refuses %s', (_name, json, reason) => {
      const keys = requestKeys(batch, { headers: {}, json });
      expect(keys.ok).toBe(false);
      if (!keys.ok) expect(keys.reason).toMatch(reason);
    });
  });
});

describe('ordering keys', () => {
  it('names the lane', () => {
    expect(orderingKey('device', 'pos-1', 's1')).toBe('device:pos-1');
    expect(orderingKey('store', 'pos-1', 's1')).toBe('store:s1');
    expect(orderingKey('none', 'pos-1', 's1')).toBeNull();
  });
});
