import { describe, expect, it } from 'vitest';
import { idempotencyKey, orderingKey } from './idempotency.js';

const order = { params: { args: [[{ uuid: '0b6b2f7e-order-1' }, { uuid: 'second' }]] } };

describe('idempotency keys', () => {
  it('takes the header the route names', () => {
    expect(idempotencyKey({ idempotencyKey: { header: 'Idempotency-Key' } }, { headers: { 'idempotency-key': ' k-1 ' }, json: undefined })).toEqual({ key: 'k-1', source: 'header' });
  });
  it("takes the POS order's uuid from the body", () => {
    expect(idempotencyKey({ idempotencyKey: { jsonPath: 'params.args[0][0].uuid' } }, { headers: {}, json: order })).toEqual({ key: '0b6b2f7e-order-1', source: 'body' });
  });
  it('accepts a numeric key', () => {
    expect(idempotencyKey({ idempotencyKey: { jsonPath: '$.id' } }, { headers: {}, json: { id: 42 } }).key).toBe('42');
  });
  it.each<[string, Parameters<typeof idempotencyKey>[1], Parameters<typeof idempotencyKey>[0]]>([
    ['no source configured', { headers: { 'idempotency-key': 'x' }, json: undefined }, {}],
    ['header missing', { headers: {}, json: undefined }, { idempotencyKey: { header: 'Idempotency-Key' } }],
    ['empty header', { headers: { 'idempotency-key': '  ' }, json: undefined }, { idempotencyKey: { header: 'Idempotency-Key' } }],
    ['over-long header', { headers: { 'idempotency-key': 'x'.repeat(256) }, json: undefined }, { idempotencyKey: { header: 'Idempotency-Key' } }],
    ['path missing in body', { headers: {}, json: { params: {} } }, { idempotencyKey: { jsonPath: 'params.args[0][0].uuid' } }],
    ['path points at an object', { headers: {}, json: order }, { idempotencyKey: { jsonPath: 'params.args[0][0]' } }],
  ])('generates a fresh key when %s', (_name, req, route) => {
    const a = idempotencyKey(route, req);
    expect(a.source).toBe('generated');
    expect(a.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(idempotencyKey(route, req).key).not.toBe(a.key);
  });
});

describe('ordering keys', () => {
  it('names the lane', () => {
    expect(orderingKey('device', 'pos-1', 's1')).toBe('device:pos-1');
    expect(orderingKey('store', 'pos-1', 's1')).toBe('store:s1');
    expect(orderingKey('none', 'pos-1', 's1')).toBeNull();
  });
});
