// Admin API for the journal and the replay engine: list entries, retry or
// discard dead letters, settle unknown outcomes, pause/resume replay and set
// its drain rate.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Journal } from '../../sync/journal.js';
import { ENTRY_STATES, type EntryState, type Settlement } from '../../sync/journal-store.js';
import type { ReplayEngine } from '../../sync/replay.js';

export interface QueueDeps {
  journal: Journal;
  replay: ReplayEngine;
  logger: Logger;
}

const RECEIPT = { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9a-f-]{36}$' } }, required: ['id'] } as const;

export function queueRoutes(app: FastifyInstance, d: QueueDeps): void {
  app.get<{ Querystring: { state: EntryState; limit: number; after: number } }>(
    '/v1/queue',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            state: { type: 'string', enum: [...ENTRY_STATES], default: 'pending' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            after: { type: 'integer', minimum: 0, default: 0 },
          },
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      const entries = await d.journal.list(req.query.state, req.query.limit, req.query.after);
      return { state: req.query.state, entries, ...(entries.length === req.query.limit && { next: entries.at(-1)!.seq }) };
    },
  );

  app.post<{ Params: { id: string } }>('/v1/queue/:id/retry', { schema: { params: RECEIPT } }, async (req, reply) => {
    if (await d.journal.retryDead(req.params.id)) {
      d.logger.info({ receipt: req.params.id }, 'dead letter put back in the queue by an operator');
      d.replay.wake();
      return { receipt: req.params.id, state: 'pending' };
    }
    return notDead(reply, d, req.params.id);
  });

  app.delete<{ Params: { id: string } }>('/v1/queue/:id', { schema: { params: RECEIPT } }, async (req, reply) => {
    if (await d.journal.discard(req.params.id)) {
      d.logger.warn({ receipt: req.params.id }, 'dead letter discarded by an operator');
      return { receipt: req.params.id, discarded: true };
    }
    return notDead(reply, d, req.params.id);
  });

  // An operator's word on a write whose outcome at the ERP is unknown; who
  // said it is recorded with the entry (the admin token names no one).
  app.post<{ Params: { id: string }; Body: { as: Settlement; by: string } }>(
    '/v1/queue/:id/settle',
    {
      schema: {
        params: RECEIPT,
        body: {
          type: 'object',
          properties: { as: { type: 'string', enum: ['retry', 'delivered'] }, by: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\x00-\\x1f]+$' } },
          required: ['as', 'by'],
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      const { as, by } = req.body;
      if (await d.journal.settle(req.params.id, as, by)) {
        d.logger.warn({ receipt: req.params.id, as, by }, as === 'retry' ? 'unknown outcome settled: not at the ERP, sent again' : 'unknown outcome settled: at the ERP, delivered');
        d.replay.wake();
        return { receipt: req.params.id, state: as === 'retry' ? 'pending' : 'delivered', settledBy: by };
      }
      const entry = await d.journal.byReceipt(req.params.id);
      if (!entry) return reply.code(404).send({ error: 'unknown_receipt' });
      return reply.code(409).send({ error: 'not_unknown', state: entry.state, message: 'only entries whose outcome is unknown can be settled' });
    },
  );

  app.post('/v1/replay/pause', async () => {
    d.replay.pause();
    d.logger.info('replay paused');
    return d.replay.status();
  });
  app.post('/v1/replay/resume', async () => {
    d.replay.resume();
    d.logger.info('replay resumed');
    return d.replay.status();
  });
  app.put<{ Body: { ratePerSec: number } }>(
    '/v1/replay/rate',
    {
      schema: {
        body: {
          type: 'object',
          properties: { ratePerSec: { type: 'number', exclusiveMinimum: 0, maximum: 100_000 } },
          required: ['ratePerSec'],
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      d.replay.setRate(req.body.ratePerSec);
      d.logger.info({ ratePerSec: req.body.ratePerSec }, 'replay drain rate set');
      return d.replay.status();
    },
  );
}

async function notDead(reply: FastifyReply, d: QueueDeps, receipt: string) {
  const entry = await d.journal.byReceipt(receipt);
  if (!entry) return reply.code(404).send({ error: 'unknown_receipt' });
  return reply.code(409).send({ error: 'not_dead', state: entry.state, message: 'only dead letters can be retried or discarded' });
}
