import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';

const who = { clientIp: '192.168.10.5', originalHost: 'gw.store:8080', storeId: 'store-1', deviceId: 'pos-1', requestId: 'r1' };

describe('upstream request headers', () => {
  const out = upstreamRequestHeaders(
    {
      host: 'evil.example',
      connection: 'keep-alive, X-Secret-Hop',
      'x-secret-hop': 'drop me',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      te: 'trailers',
      upgrade: 'websocket',
      'proxy-authorization': 'Basic x',
      'x-forwarded-for': '6.6.6.6',
      forwarded: 'for=6.6.6.6',
      'x-store-id': 'another-store',
      'x-device-token': 'secret-token',
      'content-type': 'application/json',
      'idempotency-key': 'k1',
      cookie: 'session_id=abc',
    },
    who,
  );

  it('keeps end-to-end headers', () => {
    expect(out['content-type']).toBe('application/json');
    expect(out['idempotency-key']).toBe('k1');
    expect(out.cookie).toBe('session_id=abc');
  });

  it('drops hop-by-hop headers, including those named in Connection', () => {
    for (const h of ['connection', 'x-secret-hop', 'keep-alive', 'transfer-encoding', 'te', 'upgrade', 'proxy-authorization']) expect(out).not.toHaveProperty(h);
  });

  it('never forwards the client Host or the device token', () => {
    expect(out).not.toHaveProperty('host');
    expect(out).not.toHaveProperty('x-device-token');
    expect(out).not.toHaveProperty('forwarded');
  });

  it('states the forwarding facts itself instead of trusting the client', () => {
    expect(out['x-forwarded-for']).toBe('192.168.10.5');
    expect(out['x-forwarded-proto']).toBe('http');
    expect(out['x-forwarded-host']).toBe('gw.store:8080');
    expect(out['x-store-id']).toBe('store-1');
    expect(out['x-device-id']).toBe('pos-1');
    expect(out['x-request-id']).toBe('r1');
  });
});

describe('client response headers', () => {
  it('drops hop-by-hop and Connection-listed headers, keeps the rest', () => {
    expect(
      clientResponseHeaders({ connection: 'close, x-hop', 'x-hop': '1', 'keep-alive': 'x', 'transfer-encoding': 'chunked', 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] }),
    ).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
  });

  it('reads the common Connection values as the list they are (the fast paths agree with the general one)', () => {
    const upstream = { close: 'a header named like the option', 'keep-alive': 'timeout=5', 'x-end': '1' };
    expect(clientResponseHeaders({ ...upstream, connection: 'close' })).toEqual({ 'x-end': '1' });
    expect(clientResponseHeaders({ ...upstream, connection: 'keep-alive' })).toEqual({ close: 'a header named like the option', 'x-end': '1' });
    expect(clientResponseHeaders({ ...upstream, connection: 'Keep-Alive' })).toEqual({ close: 'a header named like the option', 'x-end': '1' });
    expect(clientResponseHeaders({ ...upstream, connection: ['close', 'x-end'] })).toEqual({});
    expect(clientResponseHeaders(upstream)).toEqual({ close: 'a header named like the option', 'x-end': '1' });
  });

  it('takes only the headers of the object itself, never inherited ones', () => {
    const inherited = Object.assign(Object.create({ 'x-injected': 'from a prototype' }) as Record<string, string>, { 'x-own': '1' });
    expect(clientResponseHeaders(inherited)).toEqual({ 'x-own': '1' });
    expect(upstreamRequestHeaders(inherited, who)).not.toHaveProperty('x-injected');
  });
});
