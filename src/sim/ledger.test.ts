import { describe, expect, it } from 'vitest';
import { Ledger, type Commit, type RequestInfo } from './ledger.js';

const request: RequestInfo = { key: 'k', device: 'pos-1', receivedAt: 1000, body: { any: 'body' } };
const order = (uuid: string, recordId: number): Commit => ({ uuid, posReference: `Order ${uuid}`, model: 'pos.order', method: 'sync_from_ui', recordId });

describe('Ledger', () => {
  it('records each commit of a call with the request it came in, numbering from 1', () => {
    const l = new Ledger();
    l.record(request, [order('a', 7), order('b', 8)]);
    l.record({ ...request, key: null }, [{ uuid: null, posReference: null, model: 'stock.picking', method: 'button_validate', recordId: 3 }]);
    expect(l.commits()).toEqual([
      { seq: 1, key: 'k', uuid: 'a', posReference: 'Order a', model: 'pos.order', method: 'sync_from_ui', recordId: 7, device: 'pos-1', receivedAt: 1000, body: { any: 'body' } },
      { seq: 2, key: 'k', uuid: 'b', posReference: 'Order b', model: 'pos.order', method: 'sync_from_ui', recordId: 8, device: 'pos-1', receivedAt: 1000, body: { any: 'body' } },
      { seq: 3, key: null, uuid: null, posReference: null, model: 'stock.picking', method: 'button_validate', recordId: 3, device: 'pos-1', receivedAt: 1000, body: { any: 'body' } },
    ]);
    expect(l.count()).toBe(3);
  });

  it('counts duplicates as it is told to', () => {
    const l = new Ledger();
    l.countDuplicate();
    l.countDuplicate();
    expect(l.duplicates()).toBe(2);
  });

  it('forgets everything on reset, numbering from 1 again', () => {
    const l = new Ledger();
    l.record(request, [order('a', 1)]);
    l.countDuplicate();
    l.reset();
    expect([l.commits(), l.count(), l.duplicates()]).toEqual([[], 0, 0]);
    l.record(request, [order('a', 1)]);
    expect(l.commits()[0]!.seq).toBe(1);
  });

  it('hands out copies of its commit list', () => {
    const l = new Ledger();
    l.record(request, [order('a', 1)]);
    l.commits().pop();
    expect(l.count()).toBe(1);
  });
});
