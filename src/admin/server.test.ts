// The admin API's route table, whatever it holds now or later: with a token
// configured only the probes are open, every other route (those gateway
// assembly adds through `extend` too) and every unknown URL answers 401; with
// none, all is open.
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { buildAdmin } from './server.js';

const TOKEN = 'admin-token-Hs4Wq9Pz2Lc7Tn5M';
const OPEN = ['GET /healthz', 'HEAD /healthz', 'GET /readyz', 'HEAD /readyz'];

describe('admin API scopes', () => {
  let app: FastifyInstance;
  const routes: { method: HTTPMethods; url: string }[] = [];
  afterEach(async () => {
    await app.close();
    routes.length = 0;
  });

  async function build(token: string | undefined) {
    app = buildAdmin({
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      token: () => token,
      status: () => ({ ok: true }),
      readiness: () => ({ ready: true, checks: {} }),
      extend: (scope) => {
        scope.post('/v1/added-later', async () => ({ done: true }));
      },
    });
    app.addHook('onRoute', (r) => {
      for (const method of [r.method].flat()) routes.push({ method, url: r.url });
    });
    await app.ready();
  }

  it('with a token: the probes are open, every other route and unknown URL is 401 without it', async () => {
    await build(TOKEN);
    expect(routes.map((r) => `${r.method} ${r.url}`)).toEqual(expect.arrayContaining([...OPEN, 'POST /v1/added-later', 'GET /metrics', 'GET /v1/status']));
    for (const r of routes) {
      const res = await app.inject({ method: r.method, url: r.url });
      if (OPEN.includes(`${r.method} ${r.url}`)) expect(res.statusCode, r.url).toBe(200);
      else expect([`${r.method} ${r.url}`, res.statusCode, res.headers['www-authenticate']]).toEqual([`${r.method} ${r.url}`, 401, 'Bearer realm="storegw-admin"']);
    }
    for (const url of ['/no-such-route', '/healthz/x']) expect((await app.inject({ url })).statusCode, url).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/v1/added-later', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(200);
  });

  it('without a token: all open, an unknown URL a plain 404', async () => {
    await build(undefined);
    expect((await app.inject({ method: 'POST', url: '/v1/added-later' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/status' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/no-such-route' })).statusCode).toBe(404);
  });
});
