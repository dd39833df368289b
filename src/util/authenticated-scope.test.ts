// What putting a route in an authenticated scope guarantees: it is refused
// without the credential though nothing lists it, URLs no route claims are
// refused alike (and, with the credential, get fastify's own 404), and routes
// outside the scope stay open.
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { authenticate } from './authenticated-scope.js';

describe('an authenticated scope', () => {
  let app: FastifyInstance;
  afterEach(async () => {
    await app.close();
  });

  function build(): FastifyInstance {
    app = Fastify();
    void app.register(async (open) => {
      open.get('/open', async () => ({ open: true }));
    });
    void app.register(async (closed) => {
      authenticate(closed, async (req, reply) => {
        if (req.headers.authorization !== 'Bearer right') return reply.code(401).send({ error: 'unauthorized' });
      });
      // Added the way any later feature would add one: by registering it here, nothing else.
      void closed.register(async (feature) => {
        feature.post('/v1/new-thing', async () => ({ done: true }));
      });
    });
    return app;
  }

  it('refuses a route registered in it without the credential, and serves it with', async () => {
    build();
    expect((await app.inject({ method: 'POST', url: '/v1/new-thing' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/v1/new-thing', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    const ok = await app.inject({ method: 'POST', url: '/v1/new-thing', headers: { authorization: 'Bearer right' } });
    expect([ok.statusCode, ok.json()]).toEqual([200, { done: true }]);
  });

  it('refuses unknown URLs and unknown methods of open routes like its routes, and answers them with fastify’s own 404 once past the check', async () => {
    build();
    const plain = Fastify();
    for (const [method, url] of [
      ['GET', '/nothing-here'],
      ['DELETE', '/v1/new-thing'],
      ['POST', '/open'],
    ] as const) {
      expect((await app.inject({ method, url })).statusCode, `${method} ${url}`).toBe(401);
      const past = await app.inject({ method, url, headers: { authorization: 'Bearer right' } });
      const fastifys = await plain.inject({ method, url });
      expect([past.statusCode, past.json()]).toEqual([404, fastifys.json()]);
    }
    await plain.close();
  });

  it('leaves routes outside it open', async () => {
    build();
    for (const method of ['GET', 'HEAD'] as const) expect((await app.inject({ method, url: '/open' })).statusCode).toBe(200);
  });
});
