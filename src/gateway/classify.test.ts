import { describe, expect, it } from 'vitest';
import type { RouteConfig } from '../../edge-config/schema.js';
import { compilePathPattern } from '../../edge-config/path-pattern.js';
import { compileRoutes, type RequestFacts } from './classify.js';

const route = (name: string, match: RouteConfig['match'], cls: RouteConfig['class'] = 'normal'): RouteConfig => ({
  name,
  match,
  class: cls,
  mode: 'passthrough',
  timeoutMs: 1000,
  orderingKey: 'device',
  heldAnswer: 'receipt',
  failureAnswer: 'json',
  websocket: false,
});

const table = compileRoutes([
  route('pos-orders', { method: 'POST', jsonrpc: { model: 'pos.order', method: 'sync_from_ui' } }, 'critical'),
  route('any-pos', { jsonrpc: { model: 'pos.order' } }, 'interactive'),
  route('logins', { jsonrpc: { model: '', method: 'common.login' } }, 'interactive'),
  route('images', { method: ['GET', 'head'], path: '/web/image/**' }, 'bulk'),
  route('one-seg', { path: '/api/*/status' }),
  route('exact', { path: '/ping' }),
  route('host-only', { host: '*.reports.example' }, 'bulk'),
  route('admin-host', { host: 'erp.example', path: '/odoo/*' }),
]);

const facts = (f: Partial<RequestFacts>): RequestFacts => ({ method: 'GET', path: '/', host: '', ...f });

describe('route classification', () => {
  it.each<[string, Partial<RequestFacts>, string | undefined]>([
    ['JSON-RPC model+method', { method: 'POST', path: '/web/dataset/call_kw', jsonrpc: { model: 'pos.order', method: 'sync_from_ui' } }, 'pos-orders'],
    ['first match wins over a broader later route', { method: 'POST', path: '/jsonrpc', jsonrpc: { model: 'pos.order', method: 'sync_from_ui' } }, 'pos-orders'],
    ['model only', { method: 'POST', path: '/jsonrpc', jsonrpc: { model: 'pos.order', method: 'write' } }, 'any-pos'],
    ['method filter excludes GET for the critical route', { method: 'GET', path: '/x', jsonrpc: { model: 'pos.order', method: 'sync_from_ui' } }, 'any-pos'],
    ['service call without model', { method: 'POST', path: '/jsonrpc', jsonrpc: { model: '', method: 'common.login' } }, 'logins'],
    ['jsonrpc route needs a parsed body', { method: 'POST', path: '/web/dataset/call_kw/pos.order/sync_from_ui' }, undefined],
    ['glob ** matches deep', { path: '/web/image/product.product/42/image_128' }, 'images'],
    ['glob ** matches the prefix itself', { path: '/web/image' }, 'images'],
    ['method list is case-insensitive', { method: 'HEAD', path: '/web/image/1' }, 'images'],
    ['method list excludes others', { method: 'POST', path: '/web/image/1' }, undefined],
    ['prefix is segment-aligned', { path: '/web/images/1' }, undefined],
    ['* stays within one segment', { path: '/api/v1/status' }, 'one-seg'],
    ['* does not cross segments', { path: '/api/v1/x/status' }, undefined],
    ['exact path', { path: '/ping' }, 'exact'],
    ['exact path is not a prefix', { path: '/ping/x' }, undefined],
    ['wildcard host matches a subdomain', { host: 'eu.reports.example', path: '/x' }, 'host-only'],
    ['wildcard host does not match the bare domain', { host: 'reports.example', path: '/x' }, undefined],
    ['host and path both required', { host: 'erp.example', path: '/odoo/sale' }, 'admin-host'],
    ['host alone is not enough', { host: 'erp.example', path: '/other' }, undefined],
    ['no match', { path: '/nothing' }, undefined],
  ])('%s', (_name, f, expected) => {
    expect(table.classify(facts(f))?.name).toBe(expected);
  });

  it('a route with an empty match takes everything', () => {
    expect(compileRoutes([route('all', {})]).classify(facts({ method: 'DELETE', path: '/a/b' }))?.name).toBe('all');
  });
});

describe('path patterns', () => {
  it.each<[string, string, boolean]>([
    ['/*', '/', true],
    ['/*', '/anything/at/all', true],
    ['/web/*', '/web', true],
    ['/web/*', '/webx', false],
    ['/a.b', '/aXb', false],
    ['/x/**/y', '/x/1/2/y', true],
    ['/x/*.png', '/x/a.png', true],
    ['/x/*.png', '/x/a/b.png', false],
  ])('%s vs %s', (pattern, path, ok) => {
    expect(compilePathPattern(pattern).test(path)).toBe(ok);
  });

  it('rejects patterns that are not absolute', () => {
    expect(() => compilePathPattern('web/*')).toThrow(/must start with/);
  });
});
