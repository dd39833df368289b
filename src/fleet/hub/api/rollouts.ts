// Fleet rollouts: an operator starts one (a config to canaries first, then to
// the rest of a selector's gateways, rollouts.ts); anyone with a token reads
// how it goes.
import type { FastifyPluginAsync } from 'fastify';
import type { Rollouts } from '../rollouts.js';
import type { Selector } from '../select.js';
import { opsIdentity } from './ops-auth.js';
import { SELECTOR } from './shapes.js';

interface RolloutBody extends Selector {
  yaml: string;
  canary?: string[];
  canaryCount?: number;
  healthyForMs: number;
  graceMs?: number;
  maxFailures: number;
}

export function rolloutsApi(rollouts: Rollouts): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: RolloutBody }>(
      '/v1/fleet/rollouts',
      {
        schema: {
          body: {
            type: 'object',
            properties: {
              yaml: { type: 'string', minLength: 1, maxLength: 512 * 1024 },
              ...SELECTOR,
              canary: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
              canaryCount: { type: 'integer', minimum: 1 },
              healthyForMs: { type: 'integer', minimum: 0, maximum: 86_400_000, default: 60_000 },
              graceMs: { type: 'integer', minimum: 0, maximum: 600_000 },
              maxFailures: { type: 'integer', minimum: 0, default: 0 },
            },
            required: ['yaml'],
            additionalProperties: false,
          },
        },
      },
      async (req, reply) => {
        const b = req.body;
        if (b.canary !== undefined && b.canaryCount !== undefined) return reply.code(400).send({ error: 'invalid_body', message: 'give canary (ids) or canaryCount, not both' });
        const started = await rollouts.start(
          {
            yaml: b.yaml,
            selector: { ...(b.region !== undefined && { region: b.region }), ...(b.tag !== undefined && { tag: b.tag }) },
            canary: b.canary !== undefined ? { ids: b.canary } : { count: b.canaryCount ?? 1 },
            healthyForMs: b.healthyForMs,
            graceMs: b.graceMs,
            maxFailures: b.maxFailures,
          },
          opsIdentity(req),
        );
        if (!started.ok) return reply.code(started.status).send({ error: started.status === 409 ? 'rollout_running' : 'invalid_rollout', message: started.message, ...(started.problems && { problems: started.problems }) });
        return reply.code(202).send(started.state);
      },
    );

    app.get<{ Params: { id: string } }>('/v1/fleet/rollouts/:id', async (req, reply) => {
      const state = await rollouts.get(req.params.id);
      return state ?? reply.code(404).send({ error: 'not_found', message: `no rollout ${req.params.id}` });
    });
  };
}
