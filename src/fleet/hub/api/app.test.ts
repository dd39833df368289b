// The hub's route table, whatever it holds now or later: the probes and the
// dashboard's files are the only routes open; every other route refuses a
// caller without an ops token (401) and a viewer who tries to change something
// (403), before any handler runs.
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubAuth } from '../auth.js';
import type { Connections } from '../connections.js';
import { buildHubApi, type HubApiDeps } from './app.js';

const OPERATOR = 'operator-token-Qm3Lz8Vx1Nw6Ke0P';
const VIEWER = 'viewer-token-Rt5Ja9Hc2Bd7Ug4S';
const OPEN = ['GET /', 'HEAD /', 'GET /assets/*', 'HEAD /assets/*', 'GET /healthz', 'HEAD /healthz', 'GET /readyz', 'HEAD /readyz'];

/**
 * Stands in for the hub's parts (store, commands, rollouts...): taking a part
 * of it is fine (plugins do at registration), calling anything in it fails the
 * test, so a refused request provably reached no handler. Not thenable.
 */
const unreachable: object = new Proxy(() => undefined, {
  get: (_target, key) => (key === 'then' ? undefined : unreachable),
  apply() {
    throw new Error('a refused request reached a handler');
  },
});

/** The store as the open probes see it: readiness pings it; anything else called fails the test. */
const pingingStore: object = new Proxy({}, { get: (_target, key) => (key === 'ping' ? () => Promise.resolve() : (unreachable as Record<PropertyKey, unknown>)[key]) });

describe('hub API scopes', () => {
  let app: FastifyInstance;
  const routes: { method: HTTPMethods; url: string }[] = [];

  beforeAll(async () => {
    const auth = new HubAuth(new Map(), [
      { token: OPERATOR, name: 'op', role: 'operator' },
      { token: VIEWER, name: 'view', role: 'viewer' },
    ]);
    const deps = { auth: () => auth, connections: { size: 0 } as Connections, logger: pino({ level: 'silent' }), commandTimeoutMs: 1000 };
    app = buildHubApi({ store: pingingStore, ingest: unreachable, commands: unreachable, desired: unreachable, rollouts: unreachable, ...deps } as HubApiDeps);
    app.addHook('onRoute', (r) => {
      for (const method of [r.method].flat()) routes.push({ method, url: r.url });
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  /** A concrete URL for a route's pattern. */
  const concrete = (url: string) => url.replace(/:[^/]+/g, 'some-id').replace('*', 'app.js');
  const closed = () => routes.filter((r) => !OPEN.includes(`${r.method} ${r.url}`));

  it('has the open routes it means to have, and closed ones', () => {
    expect(routes.filter((r) => OPEN.includes(`${r.method} ${r.url}`)).map((r) => `${r.method} ${r.url}`).sort()).toEqual([...OPEN].sort());
    expect(closed().length).toBeGreaterThan(10);
  });

  it('answers the open routes without a token', async () => {
    for (const url of ['/', '/assets/app.js', '/healthz', '/readyz']) expect((await app.inject({ url })).statusCode, url).toBe(200);
  });

  it('refuses every other route without a token, or with a wrong one', async () => {
    for (const r of closed()) {
      for (const authorization of [undefined, 'Bearer not-a-token-0000000000']) {
        const res = await app.inject({ method: r.method, url: concrete(r.url), headers: authorization ? { authorization } : {} });
        expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="storegw-hub"');
      }
    }
  });

  it('refuses a viewer every route that changes something', async () => {
    const changing = closed().filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
    expect(changing.length).toBeGreaterThan(3);
    for (const r of changing) {
      const res = await app.inject({ method: r.method, url: concrete(r.url), headers: { authorization: `Bearer ${VIEWER}` } });
      expect([`${r.method} ${r.url}`, res.statusCode]).toEqual([`${r.method} ${r.url}`, 403]);
    }
  });

  it('refuses URLs no route claims, and methods an open route does not answer, like any closed route', async () => {
    for (const [method, url] of [
      ['GET', '/no-such-route'],
      ['GET', '/v1/gateways/connect'],
      ['POST', '/healthz'],
      ['DELETE', '/'],
      ['PUT', '/assets/app.js'],
    ] as const) {
      expect((await app.inject({ method, url })).statusCode, `${method} ${url}`).toBe(401);
    }
    expect((await app.inject({ url: '/no-such-route', headers: { authorization: `Bearer ${VIEWER}` } })).statusCode).toBe(404);
  });

  it('tells an operator who they are', async () => {
    const res = await app.inject({ url: '/v1/whoami', headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(res.json()).toEqual({ role: 'operator', name: 'op' });
  });
});
