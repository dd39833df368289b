// The gateway configuration schema. One TypeBox definition gives the TS types,
// the runtime validator (ajv, as fastify uses) and the JSON Schema published for
// editors (edge-config/storegw.schema.json).
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** A string enum that validates as `enum` (one clear error) instead of anyOf-of-const. */
function StringEnum<const T extends readonly string[]>(values: T, options: { default?: T[number]; description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

export const CLASS_NAMES = ['critical', 'interactive', 'normal', 'bulk'] as const;
export type ClassName = (typeof CLASS_NAMES)[number];

export const ROUTE_MODES = ['passthrough', 'buffer', 'cache'] as const;
export type RouteMode = (typeof ROUTE_MODES)[number];

export const ORDERING_KEYS = ['device', 'store', 'none'] as const;
export type OrderingKey = (typeof ORDERING_KEYS)[number];

/** How the ERP recognises a write it has already applied: what makes replaying one safe. */
export const DEDUPE_KINDS = ['key', 'natural', 'none'] as const;
export type DedupeKind = (typeof DEDUPE_KINDS)[number];

/** What a client is answered while its write is journaled but not yet delivered. */
export const HELD_ANSWERS = ['receipt', 'offline', 'odoo-list', 'odoo-dict'] as const;
export type HeldAnswer = (typeof HELD_ANSWERS)[number];

const SIZE_PATTERN = '^\\s*[0-9]+(\\.[0-9]+)?\\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?\\s*$';

/** A byte size: an integer, or a string such as "64MiB" or "1GB". Resolved to a number by the loader. */
function Size(options: { default?: number | string; description?: string } = {}) {
  return Type.Unsafe<number | string>({
    type: ['integer', 'string'],
    minimum: 0,
    pattern: SIZE_PATTERN,
    ...options,
  });
}

const Name = (description: string) =>
  Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description });

const Port = Type.Integer({ minimum: 0, maximum: 65535 });

const Listen = Type.Object(
  {
    host: Type.String({ minLength: 1, default: '0.0.0.0' }),
    port: Port,
  },
  { additionalProperties: false },
);

const Admin = Type.Object(
  {
    host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    port: Port,
    tokenFile: Type.Optional(Type.String({ minLength: 1, description: 'File holding the admin bearer token. Without it the admin API is open to whoever reaches its address.' })),
  },
  { additionalProperties: false },
);

const Devices = Type.Object(
  {
    allowCidrs: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Only clients from these networks are admitted. Default: any.' })),
    tokensFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'YAML mapping device id -> token (or "sha256:<hex>"). When set, every request must carry X-Device-Token.',
      }),
    ),
  },
  { additionalProperties: false },
);

const Limits = Type.Object(
  {
    maxBodyBytes: Size({ default: '64MiB', description: 'Largest request body forwarded; larger gets 413.' }),
    maxJsonRpcBodyBytes: Size({ default: '8MiB', description: 'Largest JSON-RPC body read to classify by model/method, and largest body a buffer route journals.' }),
    maxWebSockets: Type.Integer({ minimum: 0, maximum: 100_000, default: 256, description: 'WebSocket sessions (the Odoo bus) open through the gateway at once; more are refused with 503.' }),
  },
  { additionalProperties: false, default: {} },
);

const Gateway = Type.Object(
  {
    listen: Listen,
    admin: Admin,
    devices: Type.Optional(Devices),
    limits: Limits,
  },
  { additionalProperties: false },
);

const Probe = Type.Object(
  {
    url: Type.String({ minLength: 1, description: 'HTTP URL of the ingress ping endpoint, reached through this path.' }),
    intervalMs: Type.Integer({ minimum: 100, default: 500, description: 'Steady probe cadence.' }),
    fastIntervalMs: Type.Integer({ minimum: 10, default: 100, description: 'Cadence while a probe is overdue, so a dead path is known within about a second.' }),
    timeoutMs: Type.Integer({ minimum: 10, default: 1000, description: 'The longest a probe may take.' }),
    minTimeoutMs: Type.Integer({ minimum: 10, default: 400, description: 'The shortest deadline a probe gets; deadlines adapt to the path between this and timeoutMs.' }),
  },
  { additionalProperties: false },
);

const ByteBudget = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'ERP first in bytes: bulk requests are granted only while the bulk bytes in flight would take the link at most targetMs to deliver (at the rate the path was seen to carry), each bulk connection gets a TCP receive window of that size, and bulk answers are read no further while critical work waits. For thin links; needs priority queueing.',
    }),
    targetMs: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 50,
      description:
        "How long the bulk bytes in flight may take the link to deliver: about the bulk queue a critical answer may meet. Each bulk connection's TCP receive window is sized from it (Linux). Keep it above the path's round trip, or bulk cannot fill the link.",
    }),
    maxHoldMs: Type.Integer({
      minimum: 0,
      maximum: 60_000,
      default: 500,
      description: 'The longest bulk answers are held for one spell of critical work, so a slow critical answer never stalls a download into its idle timeout.',
    }),
  },
  { additionalProperties: false, default: {} },
);

const PathSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,31}$', description: 'Uplink name, e.g. fiber or lte.' }),
    baseUrl: Type.String({ minLength: 1, description: 'The regional ingress as seen through this tunnel (http or https, no query).' }),
    wireguard: Type.Optional(
      Type.Object({ interface: Type.String({ pattern: '^[A-Za-z0-9_=+.-]{1,15}$' }) }, { additionalProperties: false }),
    ),
    localAddress: Type.Optional(Type.String({ minLength: 1, description: 'Bind outgoing connections to this tunnel address.' })),
    probe: Type.Optional(Probe),
    allowClasses: Type.Array(StringEnum(CLASS_NAMES), { minItems: 1, uniqueItems: true, default: [...CLASS_NAMES] }),
    maxInFlight: Type.Integer({ minimum: 1, maximum: 10_000, default: 32, description: 'Requests in flight on this path; the scheduler queues the rest.' }),
    queueing: StringEnum(['priority', 'fifo'] as const, {
      default: 'priority',
      description: 'priority: the class scheduler. fifo: one queue in arrival order, as a plain proxy does (for comparison and troubleshooting).',
    }),
    reservedCritical: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 10_000, description: 'Slots only critical traffic may use (default: a quarter of maxInFlight, at least 1 when maxInFlight > 1).' }),
    ),
    metered: Type.Boolean({ default: false, description: 'A metered uplink (LTE): preferred last when several can carry a class.' }),
    byteBudget: ByteBudget,
  },
  { additionalProperties: false },
);

const ClassSettings = Type.Object(
  {
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 9, description: 'Lower goes first; critical is always first.' })),
    maxQueueMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Longest wait for a slot on a path; past it a buffer route journals, others answer 503 overloaded.' })),
    degradedShare: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: "Share of a DEGRADED path's maxInFlight this class may hold; 0 pauses it there." }),
    ),
  },
  { additionalProperties: false },
);

const Classes = Type.Object(
  {
    critical: Type.Optional(ClassSettings),
    interactive: Type.Optional(ClassSettings),
    normal: Type.Optional(ClassSettings),
    bulk: Type.Optional(ClassSettings),
  },
  { additionalProperties: false, default: {} },
);

const Methods = Type.Union([Type.String({ pattern: '^[A-Za-z]+$' }), Type.Array(Type.String({ pattern: '^[A-Za-z]+$' }), { minItems: 1 })]);

const Match = Type.Object(
  {
    method: Type.Optional(Methods),
    path: Type.Optional(
      Type.String({
        pattern: '^/',
        description: 'Exact path, or a glob: "*" matches within one segment, a trailing "/*" or "**" matches any rest.',
      }),
    ),
    host: Type.Optional(Type.String({ minLength: 1, description: 'Host header (without port); a leading "*." matches subdomains.' })),
    jsonrpc: Type.Optional(
      Type.Object(
        {
          model: Type.Optional(Type.String({ minLength: 1 })),
          method: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const IdempotencyKeySource = Type.Union([
  Type.Object({ header: Type.String({ pattern: '^[A-Za-z0-9-]+$' }) }, { additionalProperties: false }),
  Type.Object(
    {
      jsonPath: Type.String({
        minLength: 1,
        description:
          'Dotted path into the JSON body, e.g. params.args[0][0].uuid. One [*] makes the body a batch: each element of that array is journaled and delivered on its own under the key found below it, e.g. params.args[0][*].uuid.',
      }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { generate: Type.Literal(true, { description: 'A fresh key per request: a client that sends the same write again makes a second entry.' }) },
    { additionalProperties: false },
  ),
]);

const ReadBackCheck = Type.Object(
  {
    model: Type.String({ minLength: 1, description: 'The model searched, e.g. stock.picking.' }),
    domain: Type.Array(Type.Unknown(), {
      description: 'An Odoo domain; a string "$.<json path>" is replaced by that value of the journaled body. search_count > 0 means the write took effect.',
    }),
    afterMs: Type.Integer({ minimum: 0, default: 30_000, description: 'Wait after the ambiguous attempt before reading back, so a request still running at the ERP has finished.' }),
    everyMs: Type.Integer({ minimum: 100, default: 60_000, description: 'Wait between read-backs that could not decide (ERP unreachable).' }),
  },
  { additionalProperties: false },
);
const Route = Type.Object(
  {
    name: Name('Route name, used in metrics and logs.'),
    match: Match,
    class: StringEnum(CLASS_NAMES),
    mode: StringEnum(ROUTE_MODES, { default: 'passthrough' }),
    timeoutMs: Type.Integer({ minimum: 1, default: 10_000, description: 'Live deadline; a buffer route answers 202 when it passes.' }),
    idempotencyKey: Type.Optional(IdempotencyKeySource),
    orderingKey: StringEnum(ORDERING_KEYS, { default: 'device' }),
    dedupe: Type.Optional(
      StringEnum(DEDUPE_KINDS, {
        description:
          'Buffer routes: how the ERP recognises a write it already applied. key: it honours Idempotency-Key. natural: it dedupes by the same key the gateway takes from the body (POS orders by uuid or pos_reference). none: it does not, so an attempt whose answer was lost is never replayed blindly: the entry becomes unknown until a read-back check or an operator settles it.',
      }),
    ),
    heldAnswer: StringEnum(HELD_ANSWERS, {
      default: 'receipt',
      description:
        'Buffer routes: the answer while a write is journaled, not yet delivered. receipt: 202 with a receipt (gateway-aware clients). offline: 502, which the Odoo web client reads as a lost connection (the POS keeps the order and sends it again). odoo-list / odoo-dict: a JSON-RPC result of that shape holding the orders already delivered (Odoo 16/17 create_from_ui / 18-19 sync_from_ui).',
    }),
    check: Type.Optional(ReadBackCheck),
    failureAnswer: StringEnum(['json', 'offline'] as const, {
      default: 'json',
      description:
        "When the gateway cannot get the ERP's answer (no uplink, timeout, unreachable, busy, journal full). json: its own JSON error with the status (503, 504...). offline: 502, not JSON, which the Odoo web client reads as a lost connection and handles as offline (a JSON error would be shown as a server error).",
    }),
    websocket: Type.Boolean({ default: false, description: 'Let WebSocket upgrades through on this route (the Odoo bus, GET /websocket); other routes refuse them.' }),
  },
  { additionalProperties: false },
);

const JournalBackup = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      description:
        'Where the journal is copied while the gateway runs: a file on a second disk or a USB stick (relative to this file), replaced at each backup (temporary file, then rename; mode 0600). Its folder must exist and be writable.',
    }),
    everyMinutes: Type.Integer({ minimum: 1, maximum: 1440, default: 60, description: 'Minutes between backups; the first is taken at start.' }),
  },
  { additionalProperties: false },
);

const Buffer = Type.Object(
  {
    path: Type.String({ minLength: 1, default: './data/journal.db' }),
    maxBytes: Size({ default: '1GiB' }),
    maxAgeHours: Type.Number({ exclusiveMinimum: 0, default: 168 }),
    expiryWarnings: Type.Array(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), {
      uniqueItems: true,
      maxItems: 8,
      default: [0.5, 0.9],
      description:
        'Fractions of maxAgeHours: when the oldest pending entry passes one, the gateway warns (log, fleet event, /v1/status), once per crossing, and clears the warning when the backlog drains below the lowest. [] turns the warnings off.',
    }),
    backup: Type.Optional(JournalBackup),
  },
  { additionalProperties: false, default: {} },
);

const Cache = Type.Object(
  {
    path: Type.String({ minLength: 1, default: './data/cache.db' }),
    maxBytes: Size({ default: '256MiB' }),
  },
  { additionalProperties: false, default: {} },
);

const Replay = Type.Object(
  {
    ratePerSec: Type.Number({ exclusiveMinimum: 0, default: 50 }),
    concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 4 }),
    backoff: Type.Object(
      {
        baseMs: Type.Integer({ minimum: 1, default: 500 }),
        maxMs: Type.Integer({ minimum: 1, default: 60_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    maxServerErrorAttempts: Type.Integer({ minimum: 1, default: 10, description: 'A 500 is retried this many times, then the entry is dead.' }),
    startJitterMs: Type.Integer({
      minimum: 0,
      maximum: 60_000,
      default: 2000,
      description: 'When a path comes back from DOWN, replay waits a random 0..startJitterMs before it starts: the stores of a region whose link returned at once do not all send at the same instant. 0: no wait.',
    }),
  },
  { additionalProperties: false, default: {} },
);

const Link = Type.Object(
  {
    downAfter: Type.Integer({ minimum: 1, default: 3 }),
    upAfter: Type.Integer({ minimum: 1, default: 5 }),
    upHoldDownMs: Type.Integer({
      minimum: 0,
      default: 2000,
      description:
        'A DOWN path comes back only after upAfter good probes and this long without a failed one, so a line that flaps within it stays DOWN. It never delays going DOWN. 0: upAfter alone decides.',
    }),
    wireguardIntervalMs: Type.Integer({ minimum: 500, default: 5000, description: 'How often `wg show <interface> dump` is read for paths with a wireguard interface.' }),
    degraded: Type.Object(
      {
        rttMs: Type.Number({ exclusiveMinimum: 0, default: 300 }),
        lossPct: Type.Number({ minimum: 0, maximum: 100, default: 5 }),
        jitterMs: Type.Number({ exclusiveMinimum: 0, default: 50 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

const Fleet = Type.Object(
  {
    hubUrl: Type.String({ pattern: '^wss?://', description: 'ws:// or wss:// URL of the hub connect endpoint.' }),
    tokenFile: Type.String({ minLength: 1 }),
    telemetryIntervalMs: Type.Integer({ minimum: 100, default: 10_000 }),
    heartbeatIntervalMs: Type.Integer({ minimum: 100, default: 15_000, description: 'Ping cadence; a hub that does not answer within one interval is dropped and redialled.' }),
    reconnect: Type.Object(
      {
        baseMs: Type.Integer({ minimum: 1, default: 1000 }),
        maxMs: Type.Integer({ minimum: 1, default: 60_000, description: 'Longest wait between dials; also the retry interval after the hub refuses the token.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    spoolPath: Type.String({ minLength: 1, default: './data/fleet-spool.db', description: 'Where telemetry and events wait while the hub is unreachable (relative to this file).' }),
    spoolMaxBytes: Size({ default: '16MiB' }),
    spoolMaxEntries: Type.Integer({ minimum: 10, default: 10_000 }),
    configGraceMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 30_000, description: 'How long a configuration pushed by the hub must stay healthy before it is kept.' }),
  },
  { additionalProperties: false },
);

export const GatewayConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.Literal(1),
    store: Type.Object(
      {
        id: Name('Store id; also the gateway id at the fleet hub.'),
        region: Type.String({ minLength: 1 }),
        tags: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
      },
      { additionalProperties: false },
    ),
    gateway: Gateway,
    paths: Type.Array(PathSchema, { minItems: 1 }),
    classes: Classes,
    routes: Type.Array(Route, { minItems: 1 }),
    buffer: Buffer,
    cache: Cache,
    replay: Replay,
    link: Link,
    fleet: Type.Optional(Fleet),
  },
  {
    additionalProperties: false,
    $id: 'https://storegw.dev/schema/gateway-config.json',
    title: 'storegw gateway configuration',
  },
);

export type GatewayConfigInput = Static<typeof GatewayConfigSchema>;
export type PathConfig = Static<typeof PathSchema>;
export type RouteConfig = Static<typeof Route>;
export type RouteMatch = Static<typeof Match>;
export type ClassSettingsConfig = Required<Static<typeof ClassSettings>>;

type WithBytes<T, K extends keyof T> = Omit<T, K> & { [P in K]: number };

/** The configuration after loading: defaults applied, sizes in bytes, file paths absolute, class table complete. */
export type GatewayConfig = Omit<GatewayConfigInput, '$schema' | 'gateway' | 'buffer' | 'cache' | 'classes' | 'fleet'> & {
  gateway: Omit<GatewayConfigInput['gateway'], 'limits'> & {
    limits: WithBytes<GatewayConfigInput['gateway']['limits'], 'maxBodyBytes' | 'maxJsonRpcBodyBytes'>;
  };
  buffer: WithBytes<GatewayConfigInput['buffer'], 'maxBytes'>;
  cache: WithBytes<GatewayConfigInput['cache'], 'maxBytes'>;
  classes: Record<ClassName, ClassSettingsConfig>;
  fleet?: WithBytes<NonNullable<GatewayConfigInput['fleet']>, 'spoolMaxBytes'>;
};

export const DEFAULT_CLASSES: Record<ClassName, ClassSettingsConfig> = {
  critical: { priority: 0, maxQueueMs: 200, degradedShare: 1 },
  interactive: { priority: 1, maxQueueMs: 500, degradedShare: 1 },
  normal: { priority: 2, maxQueueMs: 2000, degradedShare: 0.25 },
  bulk: { priority: 3, maxQueueMs: 10_000, degradedShare: 0 },
};

/** The JSON Schema document for editors (draft-07, as ajv validates it). */
export function gatewayJsonSchema(): TSchema & Record<string, unknown> {
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...structuredClone(GatewayConfigSchema) };
}
