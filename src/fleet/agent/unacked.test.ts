import { describe, expect, it } from 'vitest';
import { Unacked } from './unacked.js';

const m = (id: string) => ({ id, body: `message ${id}` });

describe('Unacked', () => {
  it('forgets what the hub acknowledged and gives back the rest, oldest first, when the connection closes', () => {
    const u = new Unacked<ReturnType<typeof m>>(10);
    for (const id of ['a', 'b', 'c', 'd']) expect(u.sent(m(id))).toEqual([]);
    expect(u.acked(['b', 'd'])).toBe(2);
    expect(u.size).toBe(2);
    expect(u.takeAll()).toEqual([m('a'), m('c')]);
    expect(u.size).toBe(0);
    expect(u.takeAll()).toEqual([]);
  });

  it('ignores acks for ids it does not wait for (an earlier connection, a repeated ack)', () => {
    const u = new Unacked<ReturnType<typeof m>>(10);
    u.sent(m('a'));
    expect(u.acked(['x', 'a', 'a'])).toBe(1);
    expect(u.acked(['a'])).toBe(0);
    expect(u.takeAll()).toEqual([]);
  });

  it('stays within its bound: the oldest are handed back to be kept elsewhere', () => {
    const u = new Unacked<ReturnType<typeof m>>(3);
    expect(u.sent(m('a'))).toEqual([]);
    u.sent(m('b'));
    u.sent(m('c'));
    expect(u.sent(m('d'))).toEqual([m('a')]);
    expect(u.sent(m('e'))).toEqual([m('b')]);
    expect(u.size).toBe(3);
    expect(u.takeAll()).toEqual([m('c'), m('d'), m('e')]);
  });

  it('keeps a message sent twice once, as the latest', () => {
    const u = new Unacked<ReturnType<typeof m>>(3);
    u.sent(m('a'));
    u.sent(m('b'));
    u.sent(m('a'));
    expect(u.takeAll()).toEqual([m('b'), m('a')]);
  });

  it('forgets a message whose send failed only once: the caller keeps it elsewhere exactly once', () => {
    const u = new Unacked<ReturnType<typeof m>>(3);
    u.sent(m('a'));
    expect(u.forget('a')).toBe(true);
    expect(u.forget('a')).toBe(false);
    u.sent(m('b'));
    u.takeAll();
    expect(u.forget('b')).toBe(false);
  });
});
