// Who the token is: the dashboard shows operators their actions and viewers none.
import type { FastifyPluginAsync } from 'fastify';
import { opsIdentity } from './ops-auth.js';

export const whoamiApi: FastifyPluginAsync = async (app) => {
  app.get('/v1/whoami', async (req) => {
    const { role, name } = opsIdentity(req);
    return { role, name };
  });
};
