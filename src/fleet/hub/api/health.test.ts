// Readiness reflects the database: a hub replica whose database does not
// answer (down, unreachable, too slow) is not ready; liveness stays up.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { healthApi } from './health.js';

async function probe(ping: () => Promise<void>) {
  const app = Fastify();
  await app.register(healthApi({ size: 3 }, { ping }));
  const ready = await app.inject({ url: '/readyz' });
  const live = await app.inject({ url: '/healthz' });
  await app.close();
  return { ready: { status: ready.statusCode, body: ready.json() as unknown }, live: live.statusCode };
}

describe('hub probes', () => {
  it('is ready when the database answers', async () => {
    expect(await probe(() => Promise.resolve())).toEqual({ ready: { status: 200, body: { ready: true, gateways: 3 } }, live: 200 });
  });

  it('is not ready when the database fails or does not answer in time, and stays live', async () => {
    expect(await probe(() => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:5432')))).toEqual({
      ready: { status: 503, body: { ready: false, database: 'connect ECONNREFUSED 10.0.0.5:5432', gateways: 3 } },
      live: 200,
    });
    const slow = await probe(() => new Promise(() => undefined));
    expect(slow.ready).toMatchObject({ status: 503, body: { ready: false, database: expect.stringMatching(/no answer within \d+ ms/) } });
  });
});
