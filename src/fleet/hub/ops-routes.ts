// The hub's ops REST API (CONTRACT.md, "Hub ops API"): the fleet list and one
// gateway's detail and telemetry for viewers; commands, desired configs and
// rollouts for operators. Every route but the health probes and the dashboard's
// page and files (dashboard/serve.ts) needs an ops token.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { DASHBOARD_ROUTES } from '../dashboard/serve.js';
import { COMMANDS, parseCommandArgs, type CommandName } from '../protocol.js';
import { roleAllows, type HubAuth, type OpsIdentity } from './auth.js';
import type { CommandOutcome, Commands } from './commands.js';
import type { Connections } from './connections.js';
import { checkDesiredConfig } from './desired-config.js';
import type { DesiredState } from './desired.js';
import type { Ingest } from './ingest.js';
import type { Rollouts } from './rollouts.js';
import { gatewayState, selects, STATE_FILTERS, stateMatches, type Selector, type StateFilter } from './select.js';
import type { GatewayRecord, HubStore } from './store.js';

export interface OpsDeps {
  auth: () => HubAuth;
  store: HubStore;
  ingest: Ingest;
  connections: Connections;
  commands: Commands;
  desired: DesiredState;
  rollouts: Rollouts;
  logger: Logger;
  commandTimeoutMs: number;
}

// The dashboard's page and files are public (they hold no data); the API they call is not.
const OPEN = new Set<string>(['/healthz', '/readyz', ...DASHBOARD_ROUTES]);
const GATEWAY_ID = { type: 'object', properties: { id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } }, required: ['id'] } as const;
const SELECTOR = { region: { type: 'string', minLength: 1 }, tag: { type: 'string', minLength: 1 } } as const;
const COMMAND_BODY = { command: { type: 'string' }, args: { type: 'object', default: {} } } as const;
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

interface CommandBody {
  command: string;
  args: Record<string, unknown>;
}

function listItem(g: GatewayRecord, online: boolean, desiredVersion: string | undefined) {
  const queue = g.latest?.queue;
  return {
    id: g.id,
    region: g.region,
    tags: g.tags,
    online,
    state: gatewayState(online, g.paths),
    lastSeen: g.lastSeen,
    paths: g.paths.map((p) => ({ name: p.name, state: p.state })),
    // unknown: null from a gateway that does not report it (a storegw before the unknown state).
    queue: queue ? { pending: queue.pending, dead: queue.dead, unknown: queue.unknown ?? null, oldestAgeS: queue.oldestAgeS } : null,
    version: g.version,
    configVersion: g.configVersion,
    desiredConfigVersion: desiredVersion ?? null,
  };
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
      return reply.code(503).send({ error: 'busy', message: o.reason });
  }
}

export function opsRoutes(app: FastifyInstance, d: OpsDeps): void {
  const identities = new WeakMap<FastifyRequest, OpsIdentity>();
  const who = (req: FastifyRequest) => identities.get(req)!;
  const known = (id: string) => d.store.getGateway(id) !== undefined || d.auth().knows(id);

  app.addHook('onRequest', async (req, reply) => {
    if (OPEN.has(req.routeOptions.url ?? '')) return;
    const identity = d.auth().ops(req.headers.authorization);
    if (identity === undefined) {
      reply.code(401).header('www-authenticate', 'Bearer realm="storegw-hub"');
      return reply.send({ error: 'unauthorized' });
    }
    if (!roleAllows(identity.role, req.method)) return reply.code(403).send({ error: 'forbidden', message: `the ${identity.role} role may only read` });
    identities.set(req, identity);
  });

  for (const type of YAML_TYPES) app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ ready: true, gateways: d.connections.size }));

  // Who the token is: the dashboard shows operators their actions and viewers none.
  app.get('/v1/whoami', async (req) => ({ role: who(req).role, name: who(req).name }));

  // The dashboard's fleet view in one read: every gateway with its paths' full
  // link figures (the list above has only their states), and the counts.
  app.get('/v1/fleet/overview', async () => {
    d.ingest.flush();
    const desired = new Map(d.store.allDesired().map((x) => [x.gatewayId, x.version]));
    const gateways = d.store.listGateways().map((g) => ({ ...listItem(g, d.connections.get(g.id) !== undefined, desired.get(g.id)), paths: g.paths }));
    const counts = { total: gateways.length, up: 0, degraded: 0, down: 0, offline: 0 };
    for (const g of gateways) counts[g.state]++;
    return { now: Date.now(), counts, gateways };
  });

  app.get<{ Querystring: Selector & { state?: StateFilter } }>(
    '/v1/gateways',
    { schema: { querystring: { type: 'object', properties: { ...SELECTOR, state: { type: 'string', enum: [...STATE_FILTERS] } }, additionalProperties: false } } },
    async (req) => {
      d.ingest.flush();
      const desired = new Map(d.store.allDesired().map((x) => [x.gatewayId, x.version]));
      const { state, ...selector } = req.query;
      return d.store
        .listGateways()
        .filter((g) => selects(selector, g))
        .map((g) => listItem(g, d.connections.get(g.id) !== undefined, desired.get(g.id)))
        .filter((g) => state === undefined || stateMatches(state, g.state));
    },
  );

  app.get<{ Params: { id: string } }>('/v1/gateways/:id', { schema: { params: GATEWAY_ID } }, async (req, reply) => {
    d.ingest.flush();
    const g = d.store.getGateway(req.params.id);
    if (!g) return reply.code(404).send({ error: 'not_found', message: `gateway ${req.params.id} has never connected` });
    const config = d.desired.view(g.id, g.configVersion);
    return {
      ...listItem(g, d.connections.get(g.id) !== undefined, config.desired?.version),
      firstSeen: g.firstSeen,
      paths: g.paths,
      latest: g.latest,
      config,
      events: d.store.recentEvents(g.id, 50),
      commands: d.store.recentCommands(g.id, 20),
      // Its own lists: link changes and replay commands must not push them out of the last 50 / 20.
      unknownOutcomes: d.store.recentEventsNamed(g.id, 'unknown_outcome', 50),
      settlements: d.store.recentCommandsNamed(g.id, 'queue.settle', 50),
    };
  });

  app.get<{ Params: { id: string }; Querystring: { since?: number; limit: number } }>(
    '/v1/gateways/:id/telemetry',
    {
      schema: {
        params: GATEWAY_ID,
        querystring: {
          type: 'object',
          properties: { since: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 20_000, default: 5000 } },
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      d.ingest.flush();
      if (!d.store.getGateway(req.params.id)) return reply.code(404).send({ error: 'not_found', message: `gateway ${req.params.id} has never connected` });
      const since = req.query.since ?? Date.now() - 3_600_000;
      return { id: req.params.id, since, ...d.store.telemetrySince(req.params.id, since, req.query.limit) };
    },
  );

  // One gateway's events since `since`, oldest first (the detail above has the last 50 only).
  app.get<{ Params: { id: string }; Querystring: { since?: number; limit: number } }>(
    '/v1/gateways/:id/events',
    {
      schema: {
        params: GATEWAY_ID,
        querystring: {
          type: 'object',
          properties: { since: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 5000, default: 1000 } },
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      d.ingest.flush();
      if (!d.store.getGateway(req.params.id)) return reply.code(404).send({ error: 'not_found', message: `gateway ${req.params.id} has never connected` });
      const since = req.query.since ?? Date.now() - 3_600_000;
      const recent = d.store.recentEvents(req.params.id, req.query.limit + 1);
      const events = recent.filter((e) => e.ts >= since);
      // More events than the limit since `since`: the newest `limit` are answered.
      const truncated = events.length > req.query.limit;
      return { id: req.params.id, since, events: events.slice(0, req.query.limit).reverse(), truncated };
    },
  );

  app.post<{ Params: { id: string }; Body: CommandBody }>(
    '/v1/gateways/:id/commands',
    { schema: { params: GATEWAY_ID, body: { type: 'object', properties: COMMAND_BODY, required: ['command'], additionalProperties: false } } },
    async (req, reply) => {
      const cmd = checkCommand(req.body, reply);
      if (!cmd) return reply;
      if (!known(req.params.id)) return reply.code(404).send({ error: 'not_found', message: `no gateway ${req.params.id}` });
      const outcome = await d.commands.send(req.params.id, cmd.command, cmd.args, who(req), d.commandTimeoutMs);
      return outcomeReply(reply, req.params.id, cmd.command, outcome, d.commandTimeoutMs);
    },
  );

  // An operator's word on writes whose outcome the gateway cannot know: `retry`
  // (they did not take effect) or `delivered` (they did). Sent as queue.settle
  // with `by` = the token's name, so the gateway's journal and the command log
  // both say who decided; viewers are refused by the role check above.
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
      const identity = who(req);
      const args = { receipts: req.body.receipts, as: req.body.as, by: identity.name };
      const parsed = parseCommandArgs('queue.settle', args);
      if (!parsed.ok) return reply.code(400).send({ error: 'invalid_args', message: parsed.message });
      const id = req.params.id;
      if (!known(id)) return reply.code(404).send({ error: 'not_found', message: `no gateway ${id}` });
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
      const matched = d.store.listGateways().filter((g) => selects(req.body, g));
      const online = matched.filter((g) => d.connections.get(g.id) !== undefined);
      const offline = matched.filter((g) => d.connections.get(g.id) === undefined).map((g) => g.id);
      const sent = await Promise.all(online.map(async (g) => ({ id: g.id, outcome: await d.commands.send(g.id, cmd.command, cmd.args, who(req), d.commandTimeoutMs) })));
      const results = sent.map(({ id, outcome: o }) =>
        o.status === 'answered'
          ? { id, ok: o.ok, ...(o.ok ? { result: o.result } : { error: o.error }) }
          : { id, ok: false, error: { code: o.status, message: o.status === 'busy' ? o.reason : o.status === 'timeout' ? `no answer within ${d.commandTimeoutMs} ms` : o.status } },
      );
      const ok = results.filter((r) => r.ok).length;
      return { command: cmd.command, matched: matched.length, sent: online.length, ok, failed: results.length - ok, offline: offline.length, offlineIds: offline, results };
    },
  );

  app.put<{ Params: { id: string }; Body: string | { yaml: string } }>('/v1/gateways/:id/config', { schema: { params: GATEWAY_ID } }, async (req, reply) => {
    const yaml = typeof req.body === 'string' ? req.body : (req.body as { yaml?: unknown } | undefined)?.yaml;
    if (typeof yaml !== 'string' || !parseCommandArgs('config.apply', { yaml }).ok) {
      return reply.code(400).send({ error: 'invalid_body', message: 'the body is the config YAML (Content-Type: application/yaml), or JSON {"yaml": "..."}, of at most 512 KiB' });
    }
    const id = req.params.id;
    if (!known(id)) return reply.code(404).send({ error: 'not_found', message: `no gateway ${id} (neither connected before nor in the gateway tokens file)` });
    const check = checkDesiredConfig(yaml, [id], `${id}.yaml`);
    if (!check.ok) return reply.code(400).send({ error: 'invalid_config', problems: check.problems });
    const identity = who(req);
    d.logger.info({ gateway: id, version: check.version, by: identity.name }, 'desired config set');
    void d.desired.set(id, yaml, check.version, identity);
    d.ingest.flush();
    const g = d.store.getGateway(id);
    return reply.code(202).send({ id, version: check.version, fullyChecked: check.fullyChecked, online: d.connections.get(id) !== undefined, config: d.desired.view(id, g?.configVersion) });
  });

  app.post<{ Body: { yaml: string; canary?: string[]; canaryCount?: number; healthyForMs: number; graceMs?: number; maxFailures: number } & Selector }>(
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
      const started = d.rollouts.start(
        {
          yaml: b.yaml,
          selector: { ...(b.region !== undefined && { region: b.region }), ...(b.tag !== undefined && { tag: b.tag }) },
          canary: b.canary !== undefined ? { ids: b.canary } : { count: b.canaryCount ?? 1 },
          healthyForMs: b.healthyForMs,
          graceMs: b.graceMs,
          maxFailures: b.maxFailures,
        },
        who(req),
      );
      if (!started.ok) return reply.code(started.status).send({ error: started.status === 409 ? 'rollout_running' : 'invalid_rollout', message: started.message, ...(started.problems && { problems: started.problems }) });
      return reply.code(202).send(started.state);
    },
  );

  app.get<{ Params: { id: string } }>('/v1/fleet/rollouts/:id', async (req, reply) => {
    const state = d.rollouts.get(req.params.id);
    return state ?? reply.code(404).send({ error: 'not_found', message: `no rollout ${req.params.id}` });
  });
}
