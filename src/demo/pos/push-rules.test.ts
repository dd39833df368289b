import { describe, expect, it } from 'vitest';
import { judgeCall, planCalls, pushMethod, serverIdFor, stopsAtFirstFailure, type CallContext } from './push-rules.js';
import type { RpcAnswer } from './rpc-answer.js';

const lost: RpcAnswer = { kind: 'connection-lost' };
const rpcError: RpcAnswer = { kind: 'rpc-error', error: { code: 200, message: 'Odoo Server Error' } };
const result = (value: unknown): RpcAnswer => ({ kind: 'result', result: value });
const dict = (orders: Array<{ uuid: string; id: unknown }>) => ({
  'pos.order': orders,
  'pos.session': [],
  'pos.payment': [],
  'pos.order.line': [],
  'pos.pack.operation.lot': [],
  'product.attribute.custom.value': [],
});
const validate = (sent: string[], validated = sent[sent.length - 1]): CallContext => ({ trigger: 'validate', sent, validated });
const start = (sent: string[]): CallContext => ({ trigger: 'start', sent });
const outcomes = (v: ReturnType<typeof judgeCall>) => Object.fromEntries(v.outcomes.map((o) => [o.uuid, o.outcome]));

describe('planCalls', () => {
  it('16/17: Validate sends only the validated order; start sends every held order in one batch', () => {
    for (const v of ['16', '17'] as const) {
      expect(planCalls(v, 'validate', ['a', 'b'], 'b')).toEqual([['b']]);
      expect(planCalls(v, 'start', ['a', 'b'])).toEqual([['a', 'b']]);
      expect(planCalls(v, 'start', [])).toEqual([]);
      expect(planCalls(v, 'online', ['a'])).toEqual([]);
      expect(planCalls(v, 'ping-answered', ['a'])).toEqual([]);
      expect(pushMethod(v)).toBe('create_from_ui');
    }
  });
  it('18: every pending order in one sync_from_ui call, on Validate, start and online', () => {
    for (const t of ['validate', 'start', 'online'] as const) expect(planCalls('18', t, ['a', 'b'], 'b')).toEqual([['a', 'b']]);
    expect(planCalls('18', 'ping-answered', ['a'])).toEqual([]);
    expect(pushMethod('18')).toBe('sync_from_ui');
  });
  it('19: one order per call, on Validate, start and when a ping answers', () => {
    for (const t of ['validate', 'start', 'ping-answered'] as const) expect(planCalls('19', t, ['a', 'b'], 'b')).toEqual([['a'], ['b']]);
    expect(planCalls('19', 'online', ['a'])).toEqual([]);
    expect(stopsAtFirstFailure('19', 'validate')).toBe(true);
    expect(stopsAtFirstFailure('19', 'start')).toBe(false);
    expect(stopsAtFirstFailure('18', 'validate')).toBe(false);
  });
});

describe('judgeCall 16', () => {
  it('any result deletes every sent order, even one the answer does not list', () => {
    for (const r of [[{ id: 1, pos_reference: 'Order 1' }], [], undefined, {}]) {
      expect(outcomes(judgeCall('16', start(['a', 'b']), result(r)))).toEqual({ a: { kind: 'deleted' }, b: { kind: 'deleted' } });
    }
  });
  it('an undefined result (202 buffered) deletes the order, then errors', () => {
    const v = judgeCall('16', validate(['a']), result(undefined));
    expect(outcomes(v)).toEqual({ a: { kind: 'deleted' } });
    expect(v.failed).toBe(true);
  });
  it('an RPCError keeps the orders; on a batch it retries them one by one', () => {
    const batch = judgeCall('16', start(['a', 'b']), rpcError);
    expect(outcomes(batch)).toEqual({ a: { kind: 'pending', requeue: true }, b: { kind: 'pending', requeue: true } });
    expect(batch.retryEachAlone).toBe(true);
    expect(judgeCall('16', validate(['a']), rpcError).retryEachAlone).toBe(false);
  });
  it('a lost connection keeps the orders', () => {
    const v = judgeCall('16', validate(['a']), lost);
    expect(outcomes(v)).toEqual({ a: { kind: 'pending', requeue: true } });
    expect(v.goOffline).toBe(false);
  });
});

describe('judgeCall 17', () => {
  it('a list result (even empty, even not listing the order) deletes every sent order', () => {
    expect(outcomes(judgeCall('17', start(['a', 'b']), result([{ id: 1, pos_reference: 'x' }])))).toEqual({ a: { kind: 'deleted' }, b: { kind: 'deleted' } });
    expect(outcomes(judgeCall('17', validate(['a']), result([])))).toEqual({ a: { kind: 'deleted' } });
  });
  it('an unusable result at Validate (202 undefined, a dict, a null element) reverts the order to unpaid', () => {
    for (const r of [undefined, {}, dict([]), [null]]) {
      const v = judgeCall('17', validate(['a']), result(r));
      expect(outcomes(v)).toEqual({ a: { kind: 'reverted' } });
      expect(v.failed).toBe(true);
    }
  });
  it('an RPCError at Validate reverts the order; at start the orders stay pending', () => {
    expect(outcomes(judgeCall('17', validate(['a']), rpcError))).toEqual({ a: { kind: 'reverted' } });
    expect(outcomes(judgeCall('17', start(['a', 'b']), rpcError))).toEqual({ a: { kind: 'pending', requeue: true }, b: { kind: 'pending', requeue: true } });
    expect(outcomes(judgeCall('17', start(['a']), result(undefined)))).toEqual({ a: { kind: 'pending', requeue: true } });
  });
  it('a lost connection keeps the order paid and pending', () => {
    expect(outcomes(judgeCall('17', validate(['a']), lost))).toEqual({ a: { kind: 'pending', requeue: true } });
  });
});

describe('judgeCall 18/19', () => {
  it('a dict answer giving the uuid a numeric id syncs the order', () => {
    for (const v of ['18', '19'] as const) {
      const verdict = judgeCall(v, start(['a', 'b']), result(dict([{ uuid: 'a', id: 41 }, { uuid: 'b', id: 42 }])));
      expect(outcomes(verdict)).toEqual({ a: { kind: 'synced', serverId: 41 }, b: { kind: 'synced', serverId: 42 } });
      expect(verdict.failed).toBe(false);
    }
  });
  it('a dict answer without the uuid (or with a non-numeric id) dequeues it unsynced until the next start', () => {
    for (const v of ['18', '19'] as const) {
      expect(outcomes(judgeCall(v, start(['a', 'b']), result(dict([{ uuid: 'a', id: '41' }]))))).toEqual({
        a: { kind: 'pending', requeue: false },
        b: { kind: 'pending', requeue: false },
      });
    }
  });
  it('an unusable result (202 undefined, a list, an empty dict) keeps the orders pending', () => {
    for (const v of ['18', '19'] as const) {
      for (const r of [undefined, [], {}, { 'pos.order': [{ uuid: 'a', id: 1 }] }, { ...dict([]), 'pos.payment': 3 }]) {
        const verdict = judgeCall(v, validate(['a']), result(r));
        expect(outcomes(verdict)).toEqual({ a: { kind: 'pending', requeue: true } });
        expect(verdict.failed).toBe(true);
      }
    }
  });
  it('an answer without pos.session: 18 keeps the order queued, 19 has already dequeued it', () => {
    const { 'pos.session': _omit, ...noSession } = dict([{ uuid: 'a', id: 7 }]);
    expect(outcomes(judgeCall('18', start(['a']), result(noSession)))).toEqual({ a: { kind: 'pending', requeue: true } });
    const v19 = judgeCall('19', start(['a']), result(noSession));
    expect(outcomes(v19)).toEqual({ a: { kind: 'synced', serverId: 7 } });
    expect(v19.failed).toBe(true);
  });
  it('an RPCError at Validate reverts the validated order; the others stay pending', () => {
    expect(outcomes(judgeCall('18', validate(['a', 'b'], 'b'), rpcError))).toEqual({ a: { kind: 'pending', requeue: true }, b: { kind: 'reverted' } });
    // 19 sends one per call: an RPCError on an older order still reverts the current one.
    expect(outcomes(judgeCall('19', validate(['a'], 'b'), rpcError))).toEqual({ a: { kind: 'pending', requeue: true }, b: { kind: 'reverted' } });
    expect(outcomes(judgeCall('19', start(['a']), rpcError))).toEqual({ a: { kind: 'pending', requeue: true } });
  });
  it('a lost connection keeps the orders; only 19 goes offline', () => {
    expect(judgeCall('18', validate(['a']), lost)).toMatchObject({ goOffline: false, failed: true });
    expect(judgeCall('19', validate(['a']), lost)).toMatchObject({ goOffline: true, failed: true });
    expect(outcomes(judgeCall('19', validate(['a']), lost))).toEqual({ a: { kind: 'pending', requeue: true } });
  });
});

describe('serverIdFor', () => {
  it('reads the numeric id of the record with that uuid', () => {
    expect(serverIdFor(dict([{ uuid: 'x', id: 3 }, { uuid: 'a', id: 9 }]), 'a')).toBe(9);
    expect(serverIdFor(dict([{ uuid: 'a', id: 1.5 }]), 'a')).toBeUndefined();
    expect(serverIdFor([], 'a')).toBeUndefined();
    expect(serverIdFor(undefined, 'a')).toBeUndefined();
  });
});
