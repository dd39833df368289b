import { describe, expect, it } from 'vitest';
import { Barcode } from './barcode.js';
import type { Outcome } from './ledger.js';

function ok(o: Outcome | undefined): Extract<Outcome, { ok: true }> {
  if (o === undefined || !o.ok) throw new Error(`expected success, got ${JSON.stringify(o)}`);
  return o;
}

const save = (res_id: number, ...write_vals: unknown[]) => ({ model: 'stock.picking', res_id, write_field: 'move_line_ids', write_vals });

describe('Barcode: save_barcode_data', () => {
  it('creates a new move line for every [0, 0, vals], replays included, keeping dummy_id only as data', () => {
    const b = new Barcode();
    const first = ok(b.saveBarcodeData(save(5, [0, 0, { product_id: 1, quantity: 2, dummy_id: 'line-a' }])));
    const replay = ok(b.saveBarcodeData(save(5, [0, 0, { product_id: 1, quantity: 2, dummy_id: 'line-a' }])));
    expect(first.commits).toEqual([{ uuid: 'line-a', posReference: null, model: 'stock.move.line', method: 'save_barcode_data', recordId: 1 }]);
    expect(replay.commits).toEqual([{ uuid: 'line-a', posReference: null, model: 'stock.move.line', method: 'save_barcode_data', recordId: 2 }]);
    expect(ok(b.read('stock.move.line', 'search_count', [[['dummy_id', '=', 'line-a']]], {})).result).toBe(2);
    expect(replay.result).toMatchObject({ data: { records: { 'stock.picking': [{ id: 5, state: 'assigned', move_line_ids: [1, 2] }], 'stock.move.line': [{ id: 1 }, { id: 2 }] } } });
  });

  it('writes an existing line with [1, id, vals], and fails the whole save on a missing one', () => {
    const b = new Barcode();
    ok(b.saveBarcodeData(save(5, [0, 0, { product_id: 1, quantity: 1 }])));
    const written = ok(b.saveBarcodeData(save(5, [1, 1, { quantity: 3 }])));
    expect(written.commits).toEqual([{ uuid: null, posReference: null, model: 'stock.move.line', method: 'save_barcode_data', recordId: 1 }]);
    expect(ok(b.read('stock.move.line', 'read', [[1], ['quantity']], {})).result).toEqual([{ id: 1, quantity: 3 }]);
    expect(b.saveBarcodeData(save(5, [0, 0, { product_id: 2 }], [1, 42, { quantity: 1 }]))).toMatchObject({ ok: false, error: { data: { name: 'odoo.exceptions.MissingError' } } });
    expect(ok(b.read('stock.move.line', 'search_count', [[]], {})).result).toBe(1);
  });

  it('rolls back every command of a save when one carries _sim_fail', () => {
    const b = new Barcode();
    expect(b.saveBarcodeData(save(5, [0, 0, { product_id: 1 }], [0, 0, { product_id: 2, _sim_fail: true }]))).toMatchObject({ ok: false, error: { data: { name: 'odoo.exceptions.UserError' } } });
    expect(ok(b.read('stock.move.line', 'search_count', [[]], {})).result).toBe(0);
  });

  it('refuses a save without model, res_id or write_vals', () => {
    expect(new Barcode().saveBarcodeData({ model: 'stock.picking', write_vals: [] })).toMatchObject({ ok: false, error: { data: { name: 'builtins.TypeError' } } });
  });
});

describe('Barcode: button_validate', () => {
  it('validates a picking once; the second call is a UserError that writes nothing', () => {
    const b = new Barcode();
    expect(ok(b.buttonValidate([[7]]))).toEqual({ ok: true, result: true, commits: [{ uuid: null, posReference: null, model: 'stock.picking', method: 'button_validate', recordId: 7 }], repeated: false });
    expect(b.buttonValidate([[7]])).toMatchObject({ ok: false, error: { code: 200, data: { name: 'odoo.exceptions.UserError', message: expect.stringContaining('WH/OUT/00007') } } });
    expect(b.buttonValidate([[8, 7]])).toMatchObject({ ok: false });
    expect(ok(b.read('stock.picking', 'search_count', [[['id', '=', 8], ['state', '=', 'done']]], {})).result).toBe(0);
  });

  it('takes a single id as well as a list, and refuses anything else', () => {
    const b = new Barcode();
    expect(ok(b.buttonValidate([3])).commits).toHaveLength(1);
    expect(b.buttonValidate([['x']])).toMatchObject({ ok: false });
  });
});

describe('Barcode: read-back', () => {
  it('answers search_count, search and search_read on pickings from its state', () => {
    const b = new Barcode();
    ok(b.buttonValidate([[2]]));
    ok(b.getBarcodeData({ model: 'stock.picking', res_id: 1 }));
    expect(ok(b.read('stock.picking', 'search_count', [[['id', '=', 2], ['state', '=', 'done']]], {})).result).toBe(1);
    expect(ok(b.read('stock.picking', 'search', [[['state', 'in', ['assigned', 'done']]]], {})).result).toEqual([1, 2]);
    expect(ok(b.read('stock.picking', 'search_read', [], { domain: [['id', 'in', [1, 2]]], fields: ['state'] })).result).toEqual([
      { id: 1, state: 'assigned' },
      { id: 2, state: 'done' },
    ]);
  });

  it('refuses domains outside its subset, and leaves other models and methods to others', () => {
    const b = new Barcode();
    expect(b.read('stock.picking', 'search_count', [['|', ['id', '=', 1], ['id', '=', 2]]], {})).toMatchObject({ ok: false, error: { data: { name: 'builtins.ValueError' } } });
    expect(b.read('product.product', 'search_read', [[]], {})).toBeUndefined();
    expect(b.read('stock.picking', 'fields_get', [], {})).toBeUndefined();
  });

  it('loads a picking with get_barcode_data, and forgets everything on reset', () => {
    const b = new Barcode();
    expect(ok(b.getBarcodeData({ model: 'stock.picking', res_id: 4 })).result).toEqual({
      data: { records: { 'stock.picking': [{ id: 4, name: 'WH/OUT/00004', state: 'assigned', move_line_ids: [] }], 'stock.move.line': [] }, nomenclature_id: 1 },
      groups: {},
    });
    expect(ok(b.getBarcodeData({ model: 'stock.quant', res_id: 4 })).result).toEqual({ data: { records: { 'stock.quant': [{ id: 4 }] } }, groups: {} });
    expect(b.getBarcodeData({ model: 'stock.picking' })).toMatchObject({ ok: false });
    b.reset();
    expect(ok(b.read('stock.picking', 'search_count', [[]], {})).result).toBe(0);
  });
});
