import { describe, expect, it } from 'vitest';
import { checkRequestTarget } from './request-target.js';

describe('request target check', () => {
  it('passes an ordinary path and keeps the raw form for forwarding', () => {
    expect(checkRequestTarget('/web/image/product.product/1?unique=a%20b')).toEqual({
      ok: true,
      rawPath: '/web/image/product.product/1',
      path: '/web/image/product.product/1',
      query: '?unique=a%20b',
    });
  });

  it('decodes for classification', () => {
    expect(checkRequestTarget('/web/%70os')).toMatchObject({ ok: true, path: '/web/pos', rawPath: '/web/%70os' });
  });

  it.each([
    ['absolute-form', 'http://evil.example/'],
    ['authority-form (CONNECT)', 'evil.example:443'],
    ['asterisk-form', '*'],
    ['scheme-relative', '//evil.example/x'],
    ['dot-dot', '/web/../admin'],
    ['trailing dot-dot', '/web/..'],
    ['single dot', '/web/./x'],
    ['trailing single dot', '/web/.'],
    ['encoded dot-dot', '/web/%2e%2e/admin'],
    ['mixed-case encoded dot', '/web/%2E./admin'],
    ['encoded slash', '/web%2f..%2fadmin'],
    ['encoded backslash', '/web%5cadmin'],
    ['backslash', '/web\\..\\admin'],
    ['NUL', '/web/%00'],
    ['newline', '/web/%0d%0aX-Injected:%201'],
    ['bad percent-encoding', '/web/%zz'],
    ['truncated percent-encoding', '/web/%e2%82'],
  ])('refuses %s', (_name, target) => {
    expect(checkRequestTarget(target).ok).toBe(false);
  });

  it('allows dots inside names', () => {
    expect(checkRequestTarget('/web/dataset/call_kw/pos.order/..x').ok).toBe(true);
    expect(checkRequestTarget('/.well-known/x.').ok).toBe(true);
  });
});
