import { describe, expect, it } from 'vitest';
import { Ledger, type Write } from './ledger.js';
import type { OdooCall } from './odoo-rpc.js';

const sync = (...uuids: string[]): OdooCall => ({ id: 1, model: 'pos.order', method: 'sync_from_ui', args: [uuids.map((uuid) => ({ uuid }))], kwargs: {} });
const write = (call: OdooCall, key: string | null = null): Write => ({ call, key, device: 'pos-1', receivedAt: 1000, body: { call } });

describe('Ledger', () => {
  it('commits each order of a batch, under the same key, and answers with ids', () => {
    const l = new Ledger();
    expect(l.write(write(sync('a', 'b'), 'k'))).toEqual([
      { id: 1, uuid: 'a' },
      { id: 2, uuid: 'b' },
    ]);
    expect(l.commits()).toMatchObject([
      { seq: 1, key: 'k', uuid: 'a', model: 'pos.order', method: 'sync_from_ui', device: 'pos-1', receivedAt: 1000 },
      { seq: 2, key: 'k', uuid: 'b' },
    ]);
    expect(l.count()).toBe(2);
    expect(l.duplicates()).toBe(0);
  });

  it('answers a repeated key from memory, whatever the body', () => {
    const l = new Ledger();
    const first = l.write(write(sync('a'), 'k'));
    expect(l.write(write(sync('other'), 'k'))).toEqual(first);
    expect(l.commits().map((c) => c.uuid)).toEqual(['a']);
    expect(l.duplicates()).toBe(1);
  });

  it('answers a repeated order uuid from memory under a new key, and remembers that key', () => {
    const l = new Ledger();
    const first = l.write(write(sync('a'), 'k1'));
    expect(l.write(write(sync('a'), 'k2'))).toEqual(first);
    expect(l.write(write(sync('a'), 'k2'))).toEqual(first);
    expect(l.write(write(sync('a')))).toEqual(first);
    expect(l.count()).toBe(1);
    expect(l.duplicates()).toBe(3);
  });

  it('commits the new orders of a partly repeated batch', () => {
    const l = new Ledger();
    l.write(write(sync('a')));
    expect(l.write(write(sync('a', 'b')))).toEqual([
      { id: 1, uuid: 'a' },
      { id: 2, uuid: 'b' },
    ]);
    expect(l.commits().map((c) => c.uuid)).toEqual(['a', 'b']);
    expect(l.duplicates()).toBe(1);
  });

  it('commits every keyless write that carries no order uuid', () => {
    const l = new Ledger();
    const validate: OdooCall = { id: 1, model: 'stock.picking', method: 'button_validate', args: [[3]], kwargs: {} };
    expect(l.write(write(validate))).toBe(true);
    expect(l.write(write(validate))).toBe(true);
    expect(l.write(write({ ...validate, model: 'res.partner', method: 'create' }))).toBe(3);
    expect(l.commits().map((c) => [c.seq, c.uuid])).toEqual([
      [1, null],
      [2, null],
      [3, null],
    ]);
    expect(l.duplicates()).toBe(0);
  });

  it('forgets everything on reset, numbering from 1 again', () => {
    const l = new Ledger();
    l.write(write(sync('a'), 'k'));
    l.write(write(sync('a'), 'k'));
    l.reset();
    expect([l.commits(), l.count(), l.duplicates()]).toEqual([[], 0, 0]);
    expect(l.write(write(sync('a'), 'k'))).toEqual([{ id: 1, uuid: 'a' }]);
  });

  it('hands out copies of its commit list', () => {
    const l = new Ledger();
    l.write(write(sync('a')));
    l.commits().pop();
    expect(l.count()).toBe(1);
  });
});
