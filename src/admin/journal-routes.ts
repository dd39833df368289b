// Admin API for the journal's safety net: a consistent copy of the running
// journal (the online backup), which `storegw journal export --admin` turns
// into an export on the operator's side, not in the gateway.
import { createReadStream, rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Journal } from '../../sync/journal.js';

export interface JournalRouteDeps {
  journal: Journal;
  /** The journal's file: its copy is made beside it, in the service's private state folder. */
  journalFile: string;
  logger: Logger;
}

let serial = 0;

export function journalRoutes(app: FastifyInstance, d: JournalRouteDeps): void {
  // POST: it makes a file (briefly) and costs a copy of the journal; never a link a crawler or a prefetch follows.
  app.post('/v1/journal/snapshot', async (_req, reply) => {
    const copy = `${d.journalFile}.snapshot-${process.pid}-${++serial}`;
    await d.journal.backup(copy);
    const stream = createReadStream(copy);
    // Gone once sent, or once the client goes away: the copy holds what the journal holds.
    stream.once('close', () => rmSync(copy, { force: true }));
    d.logger.info('journal snapshot sent for an online export');
    return reply.type('application/vnd.sqlite3').send(stream);
  });
}
