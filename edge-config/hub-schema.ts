// The fleet hub's configuration schema (CONTRACT.md, "Hub configuration"). As
// for the gateway, one TypeBox definition gives the types and the validator
// with its defaults.
import { Type, type Static } from '@sinclair/typebox';

export const OPS_ROLES = ['operator', 'viewer'] as const;
export type OpsRole = (typeof OPS_ROLES)[number];

const SIZE_PATTERN = '^\\s*[0-9]+(\\.[0-9]+)?\\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?\\s*$';

function Size(options: { default: number | string; description: string }) {
  return Type.Unsafe<number | string>({ type: ['integer', 'string'], minimum: 0, pattern: SIZE_PATTERN, ...options });
}

const Listen = Type.Object(
  {
    host: Type.String({ minLength: 1, default: '0.0.0.0' }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
  },
  { additionalProperties: false },
);

const Postgres = Type.Object(
  {
    url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'postgres://user@host:port/database (without its password: that goes in passwordFile). Or host, port, database, user.' })),
    host: Type.Optional(Type.String({ minLength: 1, description: 'A host name, or the directory of the server\'s Unix socket (/var/run/postgresql).' })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    database: Type.Optional(Type.String({ minLength: 1 })),
    user: Type.Optional(Type.String({ minLength: 1 })),
    passwordFile: Type.Optional(Type.String({ minLength: 1, description: 'A file holding the password (a mounted Secret); read when the hub starts, never logged.' })),
    connectTimeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'How long connecting may take before the hub gives up (at startup) or a query fails.' }),
  },
  { additionalProperties: false },
);

export type PostgresConfig = Static<typeof Postgres>;

const Store = Type.Object(
  {
    path: Type.Optional(Type.String({ minLength: 1, description: 'The SQLite file (the default store, ./data/hub.db). Not with postgres.' })),
    postgres: Type.Optional(Postgres),
    telemetryRetentionHours: Type.Number({ exclusiveMinimum: 0, default: 720, description: 'How long telemetry (as minute roll-ups), events and the command log are kept.' }),
    rawRetentionHours: Type.Number({ exclusiveMinimum: 0, default: 24, description: 'How long each telemetry message is kept as sent; older ones are rolled up per minute.' }),
    housekeepingIntervalMs: Type.Integer({ minimum: 1000, default: 300_000, description: 'How often telemetry is rolled up and expired.' }),
    flushIntervalMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000, description: 'Telemetry and events are written in one transaction per interval.' }),
  },
  { additionalProperties: false, default: {} },
);

const OpsToken = Type.Object(
  {
    tokenFile: Type.String({ minLength: 1 }),
    role: Type.Unsafe<OpsRole>({ type: 'string', enum: [...OPS_ROLES], description: 'viewer: GET only; operator: also commands, configs and rollouts.' }),
    name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'Who this token is in the command log. Default: the token file name without extension.' })),
  },
  { additionalProperties: false },
);

const Auth = Type.Object(
  {
    gatewayTokensFile: Type.String({ minLength: 1, description: 'YAML mapping gateway id (= store.id) -> token or "sha256:<hex>".' }),
    opsTokens: Type.Array(OpsToken, { minItems: 1 }),
  },
  { additionalProperties: false },
);

const RateLimit = Type.Object(
  {
    messagesPerSec: Type.Number({ exclusiveMinimum: 0, default: 100, description: 'Sustained messages per second one gateway may send (an agent drains its spool at 50/s).' }),
    burst: Type.Integer({ minimum: 1, default: 500, description: 'Messages a gateway may send at once (a spool backfill after an outage).' }),
    closeAfterRejects: Type.Integer({ minimum: 1, default: 500, description: 'Refused messages within 10 s after which the connection is closed.' }),
  },
  { additionalProperties: false, default: {} },
);

const Connections = Type.Object(
  {
    heartbeatIntervalMs: Type.Integer({ minimum: 50, default: 15_000, description: 'Ping interval; a gateway that does not answer one ping is terminated.' }),
    helloTimeoutMs: Type.Integer({ minimum: 50, default: 10_000, description: 'A new connection must send hello within this time.' }),
    maxBufferedBytes: Size({ default: '1MiB', description: 'Per connection: while more than this waits to be sent, nothing else is queued for that gateway.' }),
    rateLimit: RateLimit,
  },
  { additionalProperties: false, default: {} },
);

const Commands = Type.Object(
  {
    timeoutMs: Type.Integer({ minimum: 10, default: 10_000, description: 'How long a command waits for the gateway\'s result.' }),
    configApplyTimeoutMs: Type.Integer({ minimum: 10, default: 120_000, description: 'How long config.apply waits (plus its graceMs): the gateway answers after its health check.' }),
    maxInFlightPerGateway: Type.Integer({ minimum: 1, default: 16 }),
  },
  { additionalProperties: false, default: {} },
);

const Rollouts = Type.Object(
  {
    concurrency: Type.Integer({ minimum: 1, default: 50, description: 'Gateways applying a rollout\'s config at once after the canaries.' }),
  },
  { additionalProperties: false, default: {} },
);

const Region = Type.Object(
  {
    drainBudgetPerSec: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1_000_000,
      description: 'Journaled entries per second the region\'s stores may replay together: the hub grants each connected store a share, weighted by the age of its backlog. A store never replays faster than its own replay.ratePerSec.',
    }),
  },
  { additionalProperties: false },
);

/** Keyed by region name, as gateways name theirs (store.region). */
const Regions = Type.Record(Type.String({ pattern: '^.{1,64}$' }), Region, { default: {}, additionalProperties: false, description: 'Per-region settings; regions not listed have no drain budget.' });

const Drain = Type.Object(
  {
    grantLeaseMs: Type.Integer({
      minimum: 1000,
      maximum: 600_000,
      default: 30_000,
      description: 'How long a store\'s drain grant holds without renewal (the hub renews it at half): a store that loses the hub is back at its own rate after at most this long.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const HubConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.Literal(1),
    listen: Listen,
    store: Store,
    auth: Auth,
    connections: Connections,
    commands: Commands,
    rollouts: Rollouts,
    regions: Regions,
    drain: Drain,
  },
  { additionalProperties: false, title: 'storegw hub configuration' },
);

export type HubConfigInput = Static<typeof HubConfigSchema>;

export interface OpsTokenConfig {
  tokenFile: string;
  role: OpsRole;
  name: string;
}

/** The configuration after loading: defaults applied, file paths absolute, sizes in bytes, every ops token named. */
export type HubConfig = Omit<HubConfigInput, '$schema' | 'store' | 'auth' | 'connections'> & {
  /** database: the SQLite file (path absolute) or the PostgreSQL server (passwordFile absolute). */
  store: Omit<HubConfigInput['store'], 'path' | 'postgres'> & { database: { sqlite: { path: string } } | { postgres: PostgresConfig } };
  auth: { gatewayTokensFile: string; opsTokens: OpsTokenConfig[] };
  connections: Omit<HubConfigInput['connections'], 'maxBufferedBytes'> & { maxBufferedBytes: number };
};
