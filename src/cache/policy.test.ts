import { describe, expect, it } from 'vitest';
import { ageSeconds, keptHeaders, lookupKeys, scopeKey, storability, variantOf, type ReadRequest } from './policy.js';

const get = (target = '/catalog?page=1', headers: ReadRequest['headers'] = {}): ReadRequest => ({ method: 'GET', target, host: 'gw.store', headers });

describe('storability', () => {
  it('keeps a plain 200 for every device, selected by the negotiation headers and the ERP’s Vary', () => {
    expect(storability(get(), 200, {})).toEqual({ store: true, scope: 'shared', vary: ['accept', 'accept-encoding', 'accept-language'] });
    expect(storability(get(), 200, { vary: 'X-Company, Accept' })).toEqual({
      store: true,
      scope: 'shared',
      vary: ['accept', 'accept-encoding', 'accept-language', 'x-company'],
    });
  });

  it('keeps only GET answers with a status that stays true', () => {
    expect(storability({ ...get(), method: 'HEAD' }, 200, {})).toMatchObject({ store: false });
    expect(storability({ ...get(), method: 'POST' }, 200, {})).toMatchObject({ store: false });
    for (const status of [203, 204, 300, 301, 308]) expect(storability(get(), status, {})).toMatchObject({ store: true });
    for (const status of [206, 302, 304, 404, 410, 500, 503]) expect(storability(get(), status, {})).toMatchObject({ store: false, reason: 'status' });
  });

  it('never keeps what the ERP or the client says must not be kept, or served stale', () => {
    for (const cc of ['no-store', 'private', 'no-cache', 'max-age=60, must-revalidate', 'proxy-revalidate', 'Private="x"'])
      expect(storability(get(), 200, { 'cache-control': cc })).toMatchObject({ store: false });
    expect(storability(get('/c', { 'cache-control': 'no-store' }), 200, {})).toMatchObject({ store: false, reason: 'request no-store' });
    expect(storability(get(), 200, { vary: 'Accept, *' })).toMatchObject({ store: false, reason: 'vary *' });
  });

  it('keeps answers to a session for that session only, unless the ERP marks them public', () => {
    expect(storability(get('/c', { cookie: 'session_id=a' }), 200, {})).toMatchObject({ store: true, scope: 'credential' });
    expect(storability(get('/c', { authorization: 'Bearer k' }), 200, {})).toMatchObject({ store: true, scope: 'credential' });
    expect(storability(get('/c', { cookie: 'session_id=a' }), 200, { 'cache-control': 'public, max-age=600' })).toMatchObject({ store: true, scope: 'shared' });
    expect(storability(get('/c', { cookie: 'session_id=a' }), 200, { 'cache-control': 's-maxage=60' })).toMatchObject({ store: true, scope: 'shared' });
  });

  it('does not keep an answer that starts a session for an anonymous request', () => {
    expect(storability(get(), 200, { 'set-cookie': 'session_id=new' })).toMatchObject({ store: false, reason: 'set-cookie' });
    expect(storability(get(), 200, { 'set-cookie': 'x=1', 'cache-control': 'public' })).toMatchObject({ store: true, scope: 'shared' });
  });
});

describe('keys', () => {
  it('include the query and the host, not the method', () => {
    expect(scopeKey(get('/catalog?page=1'), 'shared')).not.toBe(scopeKey(get('/catalog?page=2'), 'shared'));
    expect(scopeKey(get('/catalog'), 'shared')).not.toBe(scopeKey({ ...get('/catalog'), host: 'other.store' }, 'shared'));
    expect(scopeKey({ ...get(), host: 'GW.Store' }, 'shared')).toBe(scopeKey(get(), 'shared'));
    expect(scopeKey({ ...get(), method: 'HEAD' }, 'shared')).toBe(scopeKey(get(), 'shared'));
  });

  it('put a session’s own answers first, and hold credentials only as a digest', () => {
    const a = get('/c', { cookie: 'session_id=a' });
    const b = get('/c', { cookie: 'session_id=b' });
    const [own, shared] = lookupKeys(a);
    expect(own).toBe(scopeKey(a, 'credential'));
    expect(shared).toBe(scopeKey(get('/c'), 'shared'));
    expect(scopeKey(a, 'credential')).not.toBe(scopeKey(b, 'credential'));
    expect(own).toMatch(/^[0-9a-f]{64}$/);
    expect(lookupKeys(get('/c'))).toEqual([scopeKey(get('/c'), 'shared')]);
  });

  it('tell variants apart by the selecting headers only', () => {
    const vary = ['accept-language'];
    expect(variantOf(vary, { 'accept-language': 'de' })).not.toBe(variantOf(vary, { 'accept-language': 'fr' }));
    expect(variantOf(vary, { 'accept-language': 'de', 'x-other': '1' })).toBe(variantOf(vary, { 'accept-language': 'de ' }));
    expect(variantOf(vary, {})).not.toBe(variantOf(vary, { 'accept-language': 'de' }));
  });
});

describe('kept headers and age', () => {
  it('keeps end-to-end headers, not cookies, lengths or hop-by-hop ones', () => {
    expect(
      keptHeaders({ 'content-type': 'application/json', etag: '"1"', 'set-cookie': ['a=1'], 'content-length': '2', connection: 'keep-alive, x-hop', 'x-hop': '1', 'transfer-encoding': 'chunked', 'x-request-id': 'r1' }),
    ).toEqual({ 'content-type': 'application/json', etag: '"1"' });
  });

  it('adds the time since storing to the age the answer already had', () => {
    expect(ageSeconds({}, 10_000, 12_999)).toBe(2);
    expect(ageSeconds({ age: '30' }, 10_000, 12_000)).toBe(32);
    expect(ageSeconds({ age: 'junk' }, 10_000, 9_000)).toBe(0);
  });
});
