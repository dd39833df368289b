import { describe, expect, it } from 'vitest';
import type { RouteConfig } from '../../edge-config/schema.js';
import { buildAdmission, parseDeviceTokens } from './admission.js';
import { compileRoutes } from './classify.js';
import { decideUpgrade, refusalResponse, requestIdOf, upgradeRequestHeaders, type UpgradeRequest, type UpgradeRules } from './websocket-handshake.js';

const route = (name: string, match: RouteConfig['match'], websocket: boolean): RouteConfig => ({
  name,
  match,
  class: 'interactive',
  mode: 'passthrough',
  timeoutMs: 1000,
  orderingKey: 'device',
  heldAnswer: 'receipt',
  failureAnswer: 'json',
  websocket,
});

const rules = (over: Partial<UpgradeRules> = {}): UpgradeRules => ({
  admission: buildAdmission(['10.0.0.0/8'], undefined),
  routes: compileRoutes([route('bus', { method: 'GET', path: '/websocket' }, true), route('web', { path: '/web/**' }, false)]),
  open: 0,
  max: 2,
  draining: false,
  ...over,
});

const req = (over: Partial<UpgradeRequest> = {}): UpgradeRequest => ({
  method: 'GET',
  url: '/websocket?version=18.0-1',
  headers: { host: 'odoo.store', upgrade: 'websocket', connection: 'Upgrade' },
  remoteAddress: '10.1.2.3',
  ...over,
});

describe('websocket upgrade decision', () => {
  it('lets an admitted websocket through on a websocket route, the target forwarded as sent', () => {
    expect(decideUpgrade(req(), rules())).toMatchObject({ ok: true, route: { name: 'bus' }, target: '/websocket?version=18.0-1', deviceId: undefined });
    expect(decideUpgrade(req({ headers: { upgrade: 'WebSocket' } }), rules())).toMatchObject({ ok: true });
  });

  it.each<[string, Partial<UpgradeRequest>, Partial<UpgradeRules>, number, string, string]>([
    ['draining', {}, { draining: true }, 503, 'draining', ''],
    ['outside allowCidrs', { remoteAddress: '192.168.1.9' }, {}, 403, 'forbidden', ''],
    ['absolute-form', { url: 'http://elsewhere/websocket' }, {}, 400, 'bad_request', ''],
    ['dot segment', { url: '/web/%2E%2E/websocket' }, {}, 400, 'bad_request', ''],
    ['another protocol', { headers: { upgrade: 'h2c' } }, {}, 400, 'unsupported_upgrade', ''],
    ['not a GET', { method: 'POST' }, {}, 400, 'unsupported_upgrade', ''],
    ['no route', { url: '/elsewhere' }, {}, 404, 'no_route', ''],
    ["the gateway's own path, which a websocket route matches", { url: '/.storegw/status' }, { routes: compileRoutes([route('all', { path: '/**' }, true)]) }, 404, 'not_found', ''],
    ["the gateway's own path, encoded", { url: '/%2Estoregw/x' }, { routes: compileRoutes([route('all', { path: '/**' }, true)]) }, 404, 'not_found', ''],
    ['a route without websocket: true', { url: '/web/websocket' }, {}, 400, 'websocket_not_allowed', 'web'],
    ['the cap', {}, { open: 2 }, 503, 'too_many_websockets', 'bus'],
  ])('refuses %s', (_what, r, ru, status, error, routeName) => {
    const d = decideUpgrade(req(r), rules(ru));
    expect(d).toMatchObject({ ok: false, refusal: { status, error }, route: routeName });
  });

  it('asks for a device token as requests do, and names the device', () => {
    const admission = buildAdmission(undefined, parseDeviceTokens('till-1: till-secret\n'));
    expect(decideUpgrade(req(), rules({ admission }))).toMatchObject({ ok: false, refusal: { status: 403 } });
    expect(decideUpgrade(req({ headers: { upgrade: 'websocket', 'x-device-token': 'till-secret' } }), rules({ admission }))).toMatchObject({ ok: true, deviceId: 'till-1' });
  });
});

describe('websocket handshake headers', () => {
  it('keeps what the handshake needs, drops hop-by-hop and client claims, asserts the gateway headers', () => {
    const out = upgradeRequestHeaders(
      {
        host: 'odoo.store',
        connection: 'Upgrade, X-Secret',
        upgrade: 'websocket',
        'x-secret': 'hop',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-version': '13',
        'sec-websocket-protocol': 'odoo-bus',
        'sec-websocket-extensions': 'permessage-deflate',
        origin: 'http://odoo.store',
        cookie: 'session_id=abc',
        'x-device-token': 'secret',
        'x-forwarded-for': '6.6.6.6',
      },
      { clientIp: '10.1.2.3', originalHost: 'odoo.store', storeId: 's1', deviceId: 'till-1', requestId: 'r1' },
    );
    expect(out).toEqual({
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      'sec-websocket-protocol': 'odoo-bus',
      'sec-websocket-extensions': 'permessage-deflate',
      origin: 'http://odoo.store',
      cookie: 'session_id=abc',
      'x-forwarded-for': '10.1.2.3',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'odoo.store',
      'x-store-id': 's1',
      'x-device-id': 'till-1',
      'x-request-id': 'r1',
    });
  });

  it('writes a refusal as the ingress does: JSON with its length, connection closed', () => {
    const text = refusalResponse({ status: 503, error: 'too_many_websockets', message: 'full', outcome: 'over_capacity', retryAfter: '5' }, 'r-1');
    const [head, body] = text.split('\r\n\r\n');
    expect(head!.split('\r\n')).toEqual([
      'HTTP/1.1 503 Service Unavailable',
      'content-type: application/json; charset=utf-8',
      `content-length: ${body!.length}`,
      'connection: close',
      'x-request-id: r-1',
      'retry-after: 5',
    ]);
    expect(JSON.parse(body!)).toEqual({ error: 'too_many_websockets', message: 'full', requestId: 'r-1' });
  });

  it('keeps a plain client request id, replaces anything else', () => {
    expect(requestIdOf({ 'x-request-id': 'till-7.42' }, () => 'new')).toBe('till-7.42');
    expect(requestIdOf({ 'x-request-id': 'bad id\r\nx: y' }, () => 'new')).toBe('new');
    expect(requestIdOf({}, () => 'new')).toBe('new');
  });
});
