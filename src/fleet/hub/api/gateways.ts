// The fleet as viewers see it: the overview the dashboard draws (with each
// region's drain budget and its use), the gateway list, one gateway's detail,
// its telemetry and its events.
import type { FastifyPluginAsync } from 'fastify';
import type { Connections } from '../connections.js';
import type { DesiredState } from '../desired.js';
import type { DrainBudgets } from '../drain-budget.js';
import type { Ingest } from '../ingest.js';
import { gatewayState, selects, STATE_FILTERS, stateMatches, type Selector, type StateFilter } from '../select.js';
import type { HubStore } from '../store.js';
import type { GatewayRecord } from '../store/registry.js';
import { pageOf } from './page.js';
import { GATEWAY_ID, SELECTOR } from './shapes.js';

/** Gateways per page of GET /v1/gateways: a small fleet's all fit the default. */
const DEFAULT_PAGE = 1000;
const MAX_PAGE = 5000;

export interface GatewaysDeps {
  store: HubStore;
  ingest: Ingest;
  connections: Connections;
  desired: DesiredState;
  drains: Pick<DrainBudgets, 'view'>;
  /** Gateways connected to other hub replicas (and maybe this one); empty with one replica. */
  onlineElsewhere(): Promise<ReadonlySet<string>>;
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
    // unknown, maxAgeS, expiryWarning: null from a gateway that does not report them (a storegw before
    // the unknown state, before expiry warnings); expiryWarning null also when none stands.
    queue: queue
      ? {
          pending: queue.pending,
          dead: queue.dead,
          unknown: queue.unknown ?? null,
          oldestAgeS: queue.oldestAgeS,
          maxAgeS: queue.maxAgeS ?? null,
          expiryWarning: queue.expiryWarning ?? null,
        }
      : null,
    version: g.version,
    configVersion: g.configVersion,
    desiredConfigVersion: desiredVersion ?? null,
  };
}

/** A history read's window: from `since` (default: the last hour), at most `limit` items. */
const historyQuery = (maxLimit: number, defaultLimit: number) =>
  ({
    type: 'object',
    properties: { since: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: maxLimit, default: defaultLimit } },
    additionalProperties: false,
  }) as const;

const neverConnected = (id: string) => ({ error: 'not_found', message: `gateway ${id} has never connected` });

export function gatewaysApi(d: GatewaysDeps): FastifyPluginAsync {
  return async (app) => {
    // Connected here, or to any live replica: read once per request.
    const onlineNow = async () => {
      const elsewhere = await d.onlineElsewhere();
      return (id: string) => d.connections.get(id) !== undefined || elsewhere.has(id);
    };
    const desiredVersions = async () => new Map((await d.store.desired.all()).map((x) => [x.gatewayId, x.version]));

    // The dashboard's fleet view in one read: every gateway with its paths' full
    // link figures (the list below has only their states), and the counts.
    app.get('/v1/fleet/overview', async () => {
      await d.ingest.flush();
      const desired = await desiredVersions();
      const online = await onlineNow();
      const gateways = (await d.store.gateways.list()).map((g) => ({ ...listItem(g, online(g.id), desired.get(g.id)), paths: g.paths }));
      const counts = { total: gateways.length, up: 0, degraded: 0, down: 0, offline: 0 };
      for (const g of gateways) counts[g.state]++;
      return { now: Date.now(), counts, gateways, regions: d.drains.view() };
    });

    // In pages, in id order: the body stays the list it always was (a small fleet's
    // fits one page), and the URL of the next page is in a Link header (RFC 8288).
    app.get<{ Querystring: Selector & { state?: StateFilter; limit: number; after?: string } }>(
      '/v1/gateways',
      {
        schema: {
          querystring: {
            type: 'object',
            properties: {
              ...SELECTOR,
              state: { type: 'string', enum: [...STATE_FILTERS] },
              limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE },
              after: { type: 'string', minLength: 1, maxLength: 256, description: 'The last id of the page before (its Link header names it).' },
            },
            additionalProperties: false,
          },
        },
      },
      async (req, reply) => {
        await d.ingest.flush();
        const desired = await desiredVersions();
        const online = await onlineNow();
        const { state, limit, after, ...selector } = req.query;
        const page = await pageOf(d.store.gateways, after, limit, (g) => {
          if (!selects(selector, g)) return undefined;
          const item = listItem(g, online(g.id), desired.get(g.id));
          return state === undefined || stateMatches(state, item.state) ? item : undefined;
        });
        if (page.next !== undefined) {
          const next = new URLSearchParams(Object.entries({ ...req.query, after: page.next }).map(([k, v]): [string, string] => [k, String(v)]));
          void reply.header('link', `</v1/gateways?${next}>; rel="next"`);
        }
        return page.items;
      },
    );

    app.get<{ Params: { id: string } }>('/v1/gateways/:id', { schema: { params: GATEWAY_ID } }, async (req, reply) => {
      await d.ingest.flush();
      const g = await d.store.gateways.get(req.params.id);
      if (!g) return reply.code(404).send(neverConnected(req.params.id));
      const config = await d.desired.view(g.id, g.configVersion);
      const online = await onlineNow();
      return {
        ...listItem(g, online(g.id), config.desired?.version),
        firstSeen: g.firstSeen,
        paths: g.paths,
        latest: g.latest,
        config,
        events: await d.store.events.recent(g.id, 50),
        commands: await d.store.commands.recent(g.id, 20),
        // Its own lists: link changes and replay commands must not push them out of the last 50 / 20.
        unknownOutcomes: await d.store.events.recentNamed(g.id, 'unknown_outcome', 50),
        settlements: await d.store.commands.recentNamed(g.id, 'queue.settle', 50),
      };
    });

    app.get<{ Params: { id: string }; Querystring: { since?: number; limit: number } }>(
      '/v1/gateways/:id/telemetry',
      { schema: { params: GATEWAY_ID, querystring: historyQuery(20_000, 5000) } },
      async (req, reply) => {
        await d.ingest.flush();
        if (!(await d.store.gateways.get(req.params.id))) return reply.code(404).send(neverConnected(req.params.id));
        const since = req.query.since ?? Date.now() - 3_600_000;
        return { id: req.params.id, since, ...(await d.store.telemetry.since(req.params.id, since, req.query.limit)) };
      },
    );

    // One gateway's events since `since`, oldest first (the detail above has the last 50 only).
    app.get<{ Params: { id: string }; Querystring: { since?: number; limit: number } }>(
      '/v1/gateways/:id/events',
      { schema: { params: GATEWAY_ID, querystring: historyQuery(5000, 1000) } },
      async (req, reply) => {
        await d.ingest.flush();
        if (!(await d.store.gateways.get(req.params.id))) return reply.code(404).send(neverConnected(req.params.id));
        const since = req.query.since ?? Date.now() - 3_600_000;
        const recent = await d.store.events.recent(req.params.id, req.query.limit + 1);
        const events = recent.filter((e) => e.ts >= since);
        // More events than the limit since `since`: the newest `limit` are answered.
        const truncated = events.length > req.query.limit;
        return { id: req.params.id, since, events: events.slice(0, req.query.limit).reverse(), truncated };
      },
    );
  };
}
