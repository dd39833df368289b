import { describe, expect, it } from 'vitest';
import { boundDomain, countOf } from './read-back.js';

describe('read-back check', () => {
  const body = { params: { args: [[42]], kwargs: { context: { lang: 'en_US' } } } };

  it('fills "$." values from the journaled body, anywhere in the domain, and leaves the rest as written', () => {
    expect(boundDomain([['id', '=', '$.params.args[0][0]'], ['state', '=', 'done'], '&', ['x', 'in', ['$.params.kwargs.context.lang', 'y']]], body)).toEqual([
      ['id', '=', 42],
      ['state', '=', 'done'],
      '&',
      ['x', 'in', ['en_US', 'y']],
    ]);
  });

  it('refuses to check against a body that lacks the value (it would count the wrong records)', () => {
    expect(() => boundDomain([['id', '=', '$.params.args[1][0]']], body)).toThrow(/nothing at \$\.params\.args\[1\]\[0\]/);
  });

  it('reads the count Odoo answers, and says why when there is none', () => {
    expect(countOf(200, Buffer.from('{"jsonrpc":"2.0","id":null,"result":1}'))).toBe(1);
    expect(countOf(200, Buffer.from('{"jsonrpc":"2.0","id":null,"result":0}'))).toBe(0);
    expect(() => countOf(200, Buffer.from('{"jsonrpc":"2.0","error":{"message":"Access Denied"}}'))).toThrow(/ERP error: Access Denied/);
    expect(() => countOf(503, Buffer.from('busy'))).toThrow(/HTTP 503/);
    expect(() => countOf(200, Buffer.from('{"result":[1]}'))).toThrow(/no count/);
    expect(() => countOf(200, Buffer.from('<html>'))).toThrow();
  });
});
