import { describe, expect, it } from 'vitest';
import type { StoredResponse } from '../../sync/journal-store.js';
import { answerFor, composeResults, type ItemOutcome } from './held-answer.js';

const json = (v: unknown): StoredResponse => ({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(v)) });
const item = (key: string, state: ItemOutcome['state'], response?: StoredResponse): ItemOutcome => ({ key, receipt: `r-${key}`, state, response });
const list = (id: number, ref: string) => json({ jsonrpc: '2.0', id: 1, result: [{ id, pos_reference: ref, account_move: false }] });
const dict = (id: number, uuid: string) => json({ jsonrpc: '2.0', id: 1, result: { 'pos.order': [{ id, uuid }], 'pos.session': [], 'pos.order.line': [{ id: id * 10, order_id: id }] } });
const refusal = json({ jsonrpc: '2.0', id: 1, error: { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.ValidationError', message: 'bad order' } } });
const bodyOf = (a: ReturnType<typeof answerFor>) => (Buffer.isBuffer(a.body) ? JSON.parse(a.body.toString()) : a.body) as Record<string, unknown>;

describe('the answer to a buffered write', () => {
  it('gives one delivered item the ERP answer as it was, under this request id', () => {
    const a = answerFor([item('a', 'delivered', list(5, 'Order 1'))], { mode: 'offline', rpcId: 42, batch: false });
    expect(a).toMatchObject({ status: 200, outcome: 'delivered' });
    expect(bodyOf(a)).toEqual({ jsonrpc: '2.0', id: 42, result: [{ id: 5, pos_reference: 'Order 1', account_move: false }] });
  });

  it('joins the answers of a whole batch as Odoo answers it: lists (16/17) and dicts of record lists (18/19)', () => {
    const lists = answerFor([item('a', 'delivered', list(5, 'Order 1')), item('b', 'delivered', list(6, 'Order 2'))], { mode: 'offline', rpcId: 3, batch: true });
    expect(bodyOf(lists).result).toEqual([
      { id: 5, pos_reference: 'Order 1', account_move: false },
      { id: 6, pos_reference: 'Order 2', account_move: false },
    ]);
    const dicts = answerFor([item('a', 'delivered', dict(5, 'a')), item('b', 'delivered', dict(6, 'b'))], { mode: 'odoo-dict', rpcId: 3, batch: true });
    expect(bodyOf(dicts).result).toMatchObject({ 'pos.order': [{ id: 5, uuid: 'a' }, { id: 6, uuid: 'b' }], 'pos.order.line': [{ id: 50 }, { id: 60 }], 'pos.payment': [] });
  });

  describe('while an item is held', () => {
    const items = [item('a', 'delivered', list(5, 'Order 1')), item('b', 'pending')];
    it('receipt: 202 with every entry of the batch', () => {
      const a = answerFor(items, { mode: 'receipt', rpcId: 1, batch: true });
      expect(a.status).toBe(202);
      expect(a.body).toMatchObject({ status: 'buffered', receipt: 'r-a', entries: [{ key: 'a', state: 'delivered' }, { key: 'b', state: 'pending' }] });
    });
    it('offline: a 502 that is not JSON, which the Odoo client reads as a lost connection (it keeps the orders)', () => {
      const a = answerFor(items, { mode: 'offline', rpcId: 1, batch: true });
      expect(a.status).toBe(502);
      expect(a.headers['content-type']).toMatch(/^text\/plain/);
      expect(() => JSON.parse(String(a.body))).toThrow();
    });
    it('odoo-list: a list result holding the orders already delivered', () => {
      expect(bodyOf(answerFor(items, { mode: 'odoo-list', rpcId: 9, batch: true }))).toEqual({ jsonrpc: '2.0', id: 9, result: [{ id: 5, pos_reference: 'Order 1', account_move: false }] });
    });
    it('odoo-dict: a dict with every record list the POS reads, even with nothing delivered', () => {
      const a = answerFor([item('b', 'unknown')], { mode: 'odoo-dict', rpcId: 9, batch: false });
      expect(bodyOf(a).result).toEqual({ 'pos.order': [], 'pos.session': [], 'pos.order.line': [], 'pos.payment': [], 'pos.pack.operation.lot': [], 'product.attribute.custom.value': [] });
      expect(a.outcome).toBe('buffered');
    });
  });

  it("passes on the ERP's own refusal of a lone order (Odoo refuses the whole call the same way)", () => {
    const a = answerFor([item('a', 'dead', refusal)], { mode: 'offline', rpcId: 8, batch: false });
    expect(a.outcome).toBe('refused');
    expect(bodyOf(a)).toMatchObject({ id: 8, error: { data: { message: 'bad order' } } });
  });

  it('answers a batch whose other orders are at the ERP as done, so 17 reverts none of them', () => {
    const a = answerFor([item('a', 'delivered', list(5, 'Order 1')), item('b', 'dead', refusal)], { mode: 'offline', rpcId: 8, batch: true });
    expect(a.status).toBe(200);
    expect(bodyOf(a).result).toEqual([{ id: 5, pos_reference: 'Order 1', account_move: false }]);
  });

  it('tells a gateway-aware client its write was given up; an Odoo client is kept holding it', () => {
    const expired: ItemOutcome = { ...item('a', 'dead'), lastError: 'expired' };
    expect(answerFor([expired], { mode: 'receipt', rpcId: undefined, batch: false })).toMatchObject({ status: 409, deadLetter: 'expired' });
    expect(answerFor([expired], { mode: 'offline', rpcId: 1, batch: false }).status).toBe(502);
  });

  it('composes results of any shape into the shape asked for', () => {
    expect(composeResults([[1], undefined, [2, 3]], [])).toEqual([1, 2, 3]);
    expect(composeResults([{ a: [1] }, 'not a dict', { a: [2], b: [3] }], { a: [] })).toEqual({ a: [1, 2], b: [3] });
  });
});
