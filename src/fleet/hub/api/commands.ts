// Commands for operators: one gateway's (POST /v1/gateways/:id/commands), the
// settling of its unknown outcomes, and one command to every gateway a
// selector matches. Each answers with the gateway's answer or why there is none.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { COMMANDS, parseCommandArgs, type CommandName } from '../../protocol.js';
import type { CommandOutcome, Commands } from '../commands.js';
import type { Connections } from '../connections.js';
import { selects, type Selector } from '../select.js';
import type { GatewayRegistry } from '../store/registry.js';
import { opsIdentity } from './ops-auth.js';
import { GATEWAY_ID, SELECTOR } from './shapes.js';

export interface CommandsDeps {
  gateways: GatewayRegistry;
  connections: Connections;
  commands: Commands;
  /** Gateways connected to other hub replicas (and maybe this one); empty with one replica. */
  onlineElsewhere(): Promise<ReadonlySet<string>>;
  /** Whether a gateway id has connected before or is provisioned. */
  known(id: string): Promise<boolean>;
  logger: Logger;
  commandTimeoutMs: number;
}

const COMMAND_BODY = { command: { type: 'string' }, args: { type: 'object', default: {} } } as const;

interface CommandBody {
  command: string;
  args: Record<string, unknown>;
}

/** A checked command, or the 400 that says what is wrong with it. */
function checkCommand(body: CommandBody, reply: FastifyReply): { command: CommandName; args: Record<string, unknown> } | undefined {
  if (!(COMMANDS as readonly string[]).includes(body.command)) {
    void reply.code(400).send({ error: 'unknown_command', message: `command is one of ${COMMANDS.join(', ')}` });
    return undefined;
  }
  const command = body.command as CommandName;
  if (command === 'config.apply') {
    // Configs go through the desired state, so that a reconnecting gateway gets the same one.
    void reply.code(400).send({ error: 'use_desired_config', message: 'set configs with PUT /v1/gateways/<id>/config or POST /v1/fleet/rollouts' });
    return undefined;
  }
  if (command === 'queue.settle') {
    // Who decided is the hub's to say (the token's name), never the caller's.
    void reply.code(400).send({ error: 'use_settle_route', message: 'settle unknown outcomes with POST /v1/gateways/<id>/queue/settle {"receipts", "as"}' });
    return undefined;
  }
  const parsed = parseCommandArgs(command, body.args);
  if (!parsed.ok) {
    void reply.code(400).send({ error: 'invalid_args', message: parsed.message });
    return undefined;
  }
  return { command, args: body.args };
}

function outcomeReply(reply: FastifyReply, gatewayId: string, command: string, o: CommandOutcome, timeoutMs: number) {
  switch (o.status) {
    case 'answered':
      return reply.send({ id: o.id, gateway: gatewayId, command, ok: o.ok, ...(o.result !== undefined && { result: o.result }), ...(o.error && { error: o.error }) });
    case 'offline':
      return reply.code(409).send({ error: 'offline', message: `gateway ${gatewayId} is not connected` });
    case 'timeout':
      return reply.code(504).send({ error: 'timeout', id: o.id, message: `gateway ${gatewayId} did not answer within ${timeoutMs} ms` });
    case 'disconnected':
      return reply.code(502).send({ error: 'disconnected', id: o.id, message: `gateway ${gatewayId} disconnected before answering` });
    case 'busy':
      return reply.code(503).send({ error: 'busy', ...(o.id !== undefined && { id: o.id }), message: o.reason });
  }
}

export function commandsApi(d: CommandsDeps): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Params: { id: string }; Body: CommandBody }>(
      '/v1/gateways/:id/commands',
      { schema: { params: GATEWAY_ID, body: { type: 'object', properties: COMMAND_BODY, required: ['command'], additionalProperties: false } } },
      async (req, reply) => {
        const cmd = checkCommand(req.body, reply);
        if (!cmd) return reply;
        if (!(await d.known(req.params.id))) return reply.code(404).send({ error: 'not_found', message: `no gateway ${req.params.id}` });
        const outcome = await d.commands.send(req.params.id, cmd.command, cmd.args, opsIdentity(req), d.commandTimeoutMs);
        return outcomeReply(reply, req.params.id, cmd.command, outcome, d.commandTimeoutMs);
      },
    );

    // An operator's word on writes whose outcome the gateway cannot know: `retry`
    // (they did not take effect) or `delivered` (they did). Sent as queue.settle
    // with `by` = the token's name, so the gateway's journal and the command log
    // both say who decided; viewers are refused by the scope's role check.
    app.post<{ Params: { id: string }; Body: { receipts: string[]; as: 'retry' | 'delivered' } }>(
      '/v1/gateways/:id/queue/settle',
      {
        schema: {
          params: GATEWAY_ID,
          body: {
            type: 'object',
            properties: { receipts: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1000 }, as: { type: 'string', enum: ['retry', 'delivered'] } },
            required: ['receipts', 'as'],
            additionalProperties: false,
          },
        },
      },
      async (req, reply) => {
        const identity = opsIdentity(req);
        const args = { receipts: req.body.receipts, as: req.body.as, by: identity.name };
        const parsed = parseCommandArgs('queue.settle', args);
        if (!parsed.ok) return reply.code(400).send({ error: 'invalid_args', message: parsed.message });
        const id = req.params.id;
        if (!(await d.known(id))) return reply.code(404).send({ error: 'not_found', message: `no gateway ${id}` });
        d.logger.info({ gateway: id, as: args.as, receipts: args.receipts.length, by: identity.name }, 'an operator settles unknown outcomes');
        const outcome = await d.commands.send(id, 'queue.settle', args, identity, d.commandTimeoutMs);
        return outcomeReply(reply, id, 'queue.settle', outcome, d.commandTimeoutMs);
      },
    );

    app.post<{ Body: CommandBody & Selector }>(
      '/v1/fleet/commands',
      { schema: { body: { type: 'object', properties: { ...COMMAND_BODY, ...SELECTOR }, required: ['command'], additionalProperties: false } } },
      async (req, reply) => {
        const cmd = checkCommand(req.body, reply);
        if (!cmd) return reply;
        const matched = (await d.gateways.list()).filter((g) => selects(req.body, g));
        const elsewhere = await d.onlineElsewhere();
        const isOnline = (id: string) => d.connections.get(id) !== undefined || elsewhere.has(id);
        const online = matched.filter((g) => isOnline(g.id));
        const offline = matched.filter((g) => !isOnline(g.id)).map((g) => g.id);
        const who = opsIdentity(req);
        const sent = await Promise.all(online.map(async (g) => ({ id: g.id, outcome: await d.commands.send(g.id, cmd.command, cmd.args, who, d.commandTimeoutMs) })));
        const results = sent.map(({ id, outcome: o }) =>
          o.status === 'answered'
            ? { id, ok: o.ok, ...(o.ok ? { result: o.result } : { error: o.error }) }
            : { id, ok: false, error: { code: o.status, message: o.status === 'busy' ? o.reason : o.status === 'timeout' ? `no answer within ${d.commandTimeoutMs} ms` : o.status } },
        );
        const ok = results.filter((r) => r.ok).length;
        return { command: cmd.command, matched: matched.length, sent: online.length, ok, failed: results.length - ok, offline: offline.length, offlineIds: offline, results };
      },
    );
  };
}
