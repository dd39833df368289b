import { describe, expect, it } from 'vitest';
import { BehaviorState, parseBehavior } from './behavior.js';

describe('parseBehavior', () => {
  it('accepts every documented field', () => {
    const b = { mode: 'fail', status: 429, retryAfterS: 3, delayMs: 10, count: 2, pathPrefix: '/jsonrpc' };
    expect(parseBehavior(b)).toEqual(b);
    expect(parseBehavior({ mode: 'drop-after-commit' })).toEqual({ mode: 'drop-after-commit' });
  });

  it.each([
    ['not an object', 'fail'],
    ['null', null],
    ['an array', [{ mode: 'ok' }]],
    ['no mode', { status: 503 }],
    ['an unknown mode', { mode: 'explode' }],
    ['an unknown field', { mode: 'slow', delay: 100 }],
    ['a status outside HTTP', { mode: 'fail', status: 99 }],
    ['a fractional status', { mode: 'fail', status: 503.5 }],
    ['a negative delay', { mode: 'slow', delayMs: -1 }],
    ['a zero count', { mode: 'fail', count: 0 }],
    ['a relative path prefix', { mode: 'fail', pathPrefix: 'jsonrpc' }],
    ['a string number', { mode: 'fail', status: '503' }],
  ])('refuses %s', (_what, input) => {
    expect(parseBehavior(input)).toHaveProperty('error');
  });
});

describe('BehaviorState', () => {
  it('is ok until told otherwise, and applies to every path', () => {
    const s = new BehaviorState();
    expect(s.take('/ping')).toEqual({ mode: 'ok' });
    s.set({ mode: 'hang' });
    expect(s.take('/ping').mode).toBe('hang');
    expect(s.take('/jsonrpc').mode).toBe('hang');
  });

  it('uses up a counted behaviour, then reverts to ok', () => {
    const s = new BehaviorState();
    s.set({ mode: 'fail', status: 502, count: 2 });
    expect(s.take('/a')).toEqual({ mode: 'fail', status: 502, count: 2 });
    expect(s.current).toEqual({ mode: 'fail', status: 502, count: 1 });
    expect(s.take('/a').mode).toBe('fail');
    expect(s.current).toEqual({ mode: 'ok' });
    expect(s.take('/a').mode).toBe('ok');
  });

  it('applies only under its path prefix, and only those requests use up its count', () => {
    const s = new BehaviorState();
    s.set({ mode: 'fail', count: 1, pathPrefix: '/web/dataset' });
    expect(s.take('/ping').mode).toBe('ok');
    expect(s.take('/jsonrpc').mode).toBe('ok');
    expect(s.take('/web/dataset/call_kw').mode).toBe('fail');
    expect(s.take('/web/dataset/call_kw').mode).toBe('ok');
  });
});
