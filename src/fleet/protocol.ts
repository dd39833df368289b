// The fleet protocol between a gateway's agent and the hub (CONTRACT.md, "Fleet
// protocol"): one JSON message per websocket text frame, every message with
// type, id and ts; replies carry `re`. One set of schemas serves both sides, so
// what the agent sends is exactly what the hub accepts. Pure.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';

/** The largest frame either side takes (a config.apply carries a whole YAML file). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * What one side of a connection offers, named on the websocket upgrade: the
 * agent lists what it takes in this request header, the hub answers with those
 * it gives in the same response header. Neither side has to send the other a
 * message it may not know (an older hub refuses unknown fields, an older agent
 * unknown types), and a side that names nothing gets the protocol as it was.
 */
export const FEATURES_HEADER = 'x-storegw-fleet-features';
/** The hub acknowledges telemetry and events once they are committed (`ack`); the agent resends the others after a reconnect. */
export const ACKS_FEATURE = 'acks';
/** The most message ids one ack names. */
export const MAX_ACK_IDS = 1000;

/** Whether a FEATURES_HEADER value (comma-separated names, as HTTP lists go) names `feature`. */
export function offers(header: string | string[] | undefined, feature: string): boolean {
  const list = Array.isArray(header) ? header.join(',') : (header ?? '');
  return list.split(',').some((name) => name.trim().toLowerCase() === feature);
}

export const COMMANDS = ['config.apply', 'replay.setRate', 'replay.pause', 'replay.resume', 'queue.list', 'queue.retry', 'queue.discard', 'queue.settle', 'status'] as const;
export type CommandName = (typeof COMMANDS)[number];

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const Receipt = Type.String({ pattern: '^[0-9a-f-]{36}$' });
const Envelope = { id: Id, ts: Type.Integer({ minimum: 0 }) };
const Num = Type.Number();
const NullableNum = Type.Union([Type.Number(), Type.Null()]);

/** unknown: the gateway has not judged the path yet (just started), or nothing can (no probe, no WireGuard interface). Hubs older than it refuse telemetry that carries it. */
export const LinkStateSchema = Type.Union([Type.Literal('unknown'), Type.Literal('up'), Type.Literal('degraded'), Type.Literal('down')]);

export const PathTelemetrySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 32 }),
    state: LinkStateSchema,
    score: Num,
    rttMs: NullableNum,
    jitterMs: Num,
    lossPct: Num,
    handshakeAgeS: Type.Optional(NullableNum),
    rxBps: Type.Optional(NullableNum),
    txBps: Type.Optional(NullableNum),
  },
  { additionalProperties: false },
);

export const QueueTelemetrySchema = Type.Object(
  {
    pending: Type.Integer({ minimum: 0 }),
    dead: Type.Integer({ minimum: 0 }),
    oldestAgeS: Type.Number({ minimum: 0 }),
    bytes: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Writes sent to an ERP that does not dedupe whose answer was lost: an operator must say whether they took effect. Absent from gateways older than the unknown state. */
    unknown: Type.Optional(Type.Integer({ minimum: 0 })),
    /** buffer.maxAgeHours in seconds: pending entries older become dead letters. Absent from gateways older than expiry warnings. */
    maxAgeS: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    /** The fraction of maxAgeS (buffer.expiryWarnings) the oldest pending entry has passed, null without a warning. */
    expiryWarning: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), Type.Null()])),
  },
  { additionalProperties: false },
);

const RouteName = Type.String({ minLength: 1, maxLength: 128 });
const Reason = Type.String({ maxLength: 1024 });

/** One journal entry given up or held: the `dead_letter` and `unknown_outcome` events' details. */
const EntryEventSchema = Type.Object(
  {
    receipt: Receipt,
    route: RouteName,
    cls: Type.String({ minLength: 1, maxLength: 32 }),
    reason: Reason,
    attempts: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

/** A write whose outcome the gateway cannot know: the `unknown_outcome` event's details. */
export const UnknownOutcomeSchema = EntryEventSchema;

/** How many entries one event about many names by receipt: the count has them all. */
export const BATCH_EXAMPLES = 10;
const BatchEntries = Type.Array(Type.Object({ receipt: Receipt, route: RouteName, reason: Reason }, { additionalProperties: false }), { maxItems: BATCH_EXAMPLES });

/** `journal.expired`: the pending entries one housekeeping pass found older than the max age and made dead letters. */
export const ExpiredSchema = Type.Object(
  { count: Type.Integer({ minimum: 1 }), maxAgeHours: Type.Number({ exclusiveMinimum: 0 }), entries: BatchEntries },
  { additionalProperties: false },
);

/**
 * `dead_letter.summary`, `unknown_outcome.summary`: the entries of a burst
 * beyond those the agent reports one by one, from `sinceTs` on (a replay
 * against an ERP that refuses everything must not flood the hub).
 */
export const EntrySummarySchema = Type.Object(
  { count: Type.Integer({ minimum: 1 }), sinceTs: Type.Integer({ minimum: 0 }), entries: BatchEntries },
  { additionalProperties: false },
);

/** `journal.near_expiry` (a fraction passed) and `journal.near_expiry_cleared` (the backlog drained below the lowest; `fraction` is the one that was raised). */
export const NearExpirySchema = Type.Object(
  {
    fraction: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
    oldestAgeS: Type.Number({ minimum: 0 }),
    maxAgeS: Type.Number({ exclusiveMinimum: 0 }),
    pending: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

const Hello = Type.Object(
  {
    type: Type.Literal('hello'),
    ...Envelope,
    store: Type.Object({ id: Id, region: Type.String({ minLength: 1, maxLength: 64 }), tags: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32 }) }, { additionalProperties: false }),
    /** storegw's package version. */
    version: Type.String({ maxLength: 32 }),
    configVersion: Type.String({ maxLength: 64 }),
    paths: Type.Array(PathTelemetrySchema, { maxItems: 16 }),
  },
  { additionalProperties: false },
);

const Telemetry = Type.Object(
  {
    type: Type.Literal('telemetry'),
    ...Envelope,
    configVersion: Type.String({ maxLength: 64 }),
    paths: Type.Array(PathTelemetrySchema, { maxItems: 16 }),
    queue: QueueTelemetrySchema,
    /** Requests since the previous telemetry: class → outcome → count. */
    requests: Type.Record(Type.String({ maxLength: 32 }), Type.Record(Type.String({ maxLength: 32 }), Type.Integer({ minimum: 0 }))),
    /** True when it was kept while the hub was unreachable and is sent late; ts is when it was taken. */
    spooled: Type.Optional(Type.Boolean()),
    /** A roll-up of this many telemetry messages (the spool's oldest, merged to stay within its bound). */
    rolledUp: Type.Optional(Type.Integer({ minimum: 2 })),
  },
  { additionalProperties: false },
);

export const EVENTS = [
  'link.state',
  'dead_letter',
  'dead_letter.summary',
  'unknown_outcome',
  'unknown_outcome.summary',
  'journal.expired',
  'journal.near_expiry',
  'journal.near_expiry_cleared',
  'quota.pressure',
  'config.applied',
  'config.rolled_back',
  'journal.error',
] as const;

const Event = Type.Object(
  {
    type: Type.Literal('event'),
    ...Envelope,
    event: Type.Union(EVENTS.map((e) => Type.Literal(e))),
    details: Type.Record(Type.String(), Type.Unknown()),
    spooled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/**
 * Events whose details the hub acts on or shows field by field have a fixed
 * shape, checked after the envelope; the others carry what their source says.
 */
export const EventDetailsSchemas = {
  dead_letter: EntryEventSchema,
  'dead_letter.summary': EntrySummarySchema,
  unknown_outcome: EntryEventSchema,
  'unknown_outcome.summary': EntrySummarySchema,
  'journal.expired': ExpiredSchema,
  'journal.near_expiry': NearExpirySchema,
  'journal.near_expiry_cleared': NearExpirySchema,
} satisfies Partial<Record<(typeof EVENTS)[number], TSchema>>;

const ErrorBody = Type.Object({ code: Type.String({ maxLength: 64 }), message: Type.String({ maxLength: 4096 }) }, { additionalProperties: false });

const Result = Type.Object(
  { type: Type.Literal('result'), ...Envelope, re: Id, ok: Type.Boolean(), result: Type.Optional(Type.Unknown()), error: Type.Optional(ErrorBody) },
  { additionalProperties: false },
);

/** Either side's answer to a message it could not take. */
const ErrorMessage = Type.Object({ type: Type.Literal('error'), ...Envelope, re: Type.Optional(Id), error: ErrorBody }, { additionalProperties: false });

export const CommandArgsSchemas = {
  'config.apply': Type.Object(
    {
      /** The whole gateway configuration file. */
      yaml: Type.String({ minLength: 1, maxLength: 512 * 1024 }),
      /** How long the new configuration must stay healthy before it is kept. */
      graceMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    },
    { additionalProperties: false },
  ),
  'replay.setRate': Type.Object({ ratePerSec: Type.Number({ exclusiveMinimum: 0, maximum: 100_000 }) }, { additionalProperties: false }),
  'replay.pause': Type.Object({}, { additionalProperties: false }),
  'replay.resume': Type.Object({}, { additionalProperties: false }),
  'queue.list': Type.Object(
    {
      state: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('dead'), Type.Literal('delivered'), Type.Literal('unknown')])),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
      after: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    { additionalProperties: false },
  ),
  'queue.retry': Type.Object({ receipts: Type.Array(Receipt, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
  'queue.discard': Type.Object({ receipts: Type.Array(Receipt, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
  /** An operator's word on writes in the unknown state: they did not take effect (retry) or they did (delivered). */
  'queue.settle': Type.Object(
    {
      receipts: Type.Array(Receipt, { minItems: 1, maxItems: 1000 }),
      as: Type.Union([Type.Literal('retry'), Type.Literal('delivered')]),
      /** Who decided, as the hub knows them (an ops token's name): kept with each entry. No control characters: it goes into logs. */
      by: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
    },
    { additionalProperties: false },
  ),
  status: Type.Object({}, { additionalProperties: false }),
} satisfies Record<CommandName, TSchema>;

export type CommandArgs = { [C in CommandName]: Static<(typeof CommandArgsSchemas)[C]> };

const Command = Type.Object(
  {
    type: Type.Literal('command'),
    ...Envelope,
    command: Type.Union(COMMANDS.map((c) => Type.Literal(c))),
    args: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);

/**
 * The hub's share of its region's drain budget for this gateway: replay may
 * start at most `ratePerSec` entries a second (never more than the gateway's
 * own rate) for `leaseMs` from receipt. The hub renews it well before then; a
 * grant not renewed lapses and the gateway drains at its own rate again. Not
 * answered: the next grant supersedes it.
 */
const DrainGrant = Type.Object(
  {
    type: Type.Literal('drain.grant'),
    ...Envelope,
    /** 0 holds replay for the lease: the region's budget is spoken for. */
    ratePerSec: Type.Number({ minimum: 0, maximum: 100_000 }),
    leaseMs: Type.Integer({ minimum: 1000, maximum: 600_000 }),
  },
  { additionalProperties: false },
);

/**
 * Telemetry and events (by id) the hub has committed to its database: the
 * gateway may forget them. Sent only on a connection whose gateway asked for
 * acks and whose hub said it gives them (FEATURES_HEADER); not answered.
 */
const Ack = Type.Object({ type: Type.Literal('ack'), ...Envelope, ids: Type.Array(Id, { minItems: 1, maxItems: MAX_ACK_IDS }) }, { additionalProperties: false });

export type HelloMessage = Static<typeof Hello>;
export type TelemetryMessage = Static<typeof Telemetry>;
export type EventMessage = Static<typeof Event>;
export type ResultMessage = Static<typeof Result>;
export type ErrorMessage = Static<typeof ErrorMessage>;
export type CommandMessage = Static<typeof Command>;
export type DrainGrantMessage = Static<typeof DrainGrant>;
export type AckMessage = Static<typeof Ack>;
export type PathTelemetry = Static<typeof PathTelemetrySchema>;
export type QueueTelemetry = Static<typeof QueueTelemetrySchema>;
export type EventName = (typeof EVENTS)[number];
export type UnknownOutcome = Static<typeof UnknownOutcomeSchema>;
export type ExpiredDetails = Static<typeof ExpiredSchema>;
export type EntrySummary = Static<typeof EntrySummarySchema>;
export type NearExpiry = Static<typeof NearExpirySchema>;

export type GatewayMessage = HelloMessage | TelemetryMessage | EventMessage | ResultMessage | ErrorMessage;
export type HubMessage = CommandMessage | DrainGrantMessage | AckMessage | ErrorMessage;

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const validators = {
  hello: ajv.compile<HelloMessage>(Hello),
  telemetry: ajv.compile<TelemetryMessage>(Telemetry),
  event: ajv.compile<EventMessage>(Event),
  result: ajv.compile<ResultMessage>(Result),
  error: ajv.compile<ErrorMessage>(ErrorMessage),
  command: ajv.compile<CommandMessage>(Command),
  'drain.grant': ajv.compile<DrainGrantMessage>(DrainGrant),
  ack: ajv.compile<AckMessage>(Ack),
};
const argValidators = Object.fromEntries(COMMANDS.map((c) => [c, ajv.compile(CommandArgsSchemas[c])])) as Record<CommandName, ReturnType<typeof ajv.compile>>;
const detailValidators = Object.fromEntries(Object.entries(EventDetailsSchemas).map(([e, schema]) => [e, ajv.compile(schema)])) as Partial<Record<EventName, ReturnType<typeof ajv.compile>>>;

const FROM_GATEWAY = new Set(['hello', 'telemetry', 'event', 'result', 'error']);
const FROM_HUB = new Set(['command', 'drain.grant', 'ack', 'error']);

export type ProtocolErrorCode = 'too_large' | 'malformed' | 'unknown_type' | 'invalid';

export interface ProtocolError {
  code: ProtocolErrorCode;
  message: string;
  /** The offending message's id, when it had a usable one: the error reply's `re`. */
  re?: string;
}

export type Parsed<M> = { ok: true; message: M } | { ok: false; error: ProtocolError };

/** The first error, with where it is (`under`: the path of the value that was checked). */
function explain(e: ErrorObject[] | null | undefined, under = ''): string {
  const first = e?.[0];
  if (!first) return 'invalid message';
  return `${under + first.instancePath || '(message)'}: ${first.message ?? 'invalid'}${first.params && 'additionalProperty' in first.params ? ` (${String(first.params.additionalProperty)})` : ''}`;
}

function parse<M>(frame: string | Buffer, allowed: Set<string>, side: string): Parsed<M> {
  const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
  if (bytes > MAX_FRAME_BYTES) return { ok: false, error: { code: 'too_large', message: `frame of ${bytes} bytes exceeds ${MAX_FRAME_BYTES}` } };
  let value: unknown;
  try {
    value = JSON.parse(typeof frame === 'string' ? frame : frame.toString('utf8'));
  } catch {
    return { ok: false, error: { code: 'malformed', message: 'the frame is not JSON' } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: { code: 'malformed', message: 'a message is a JSON object' } };
  const record = value as Record<string, unknown>;
  const re = typeof record.id === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(record.id) ? record.id : undefined;
  const type = record.type;
  if (typeof type !== 'string' || !allowed.has(type)) {
    return { ok: false, error: { code: 'unknown_type', message: `${side} does not send messages of type ${JSON.stringify(type)}`, ...(re && { re }) } };
  }
  const validate = validators[type as keyof typeof validators];
  if (!validate(value)) return { ok: false, error: { code: 'invalid', message: `${type}: ${explain(validate.errors)}`, ...(re && { re }) } };
  if (type === 'event') {
    const { event, details } = value as EventMessage;
    const checkDetails = detailValidators[event];
    if (checkDetails && !checkDetails(details)) {
      return { ok: false, error: { code: 'invalid', message: `event ${event}: ${explain(checkDetails.errors, '/details')}`, ...(re && { re }) } };
    }
  }
  return { ok: true, message: value as M };
}

/** A frame the hub received from a gateway. */
export function parseGatewayMessage(frame: string | Buffer): Parsed<GatewayMessage> {
  return parse<GatewayMessage>(frame, FROM_GATEWAY, 'a gateway');
}

/** A frame a gateway received from the hub. */
export function parseHubMessage(frame: string | Buffer): Parsed<HubMessage> {
  return parse<HubMessage>(frame, FROM_HUB, 'the hub');
}

/** A command's args, checked against that command's schema. */
export function parseCommandArgs<C extends CommandName>(command: C, args: unknown): { ok: true; args: CommandArgs[C] } | { ok: false; message: string } {
  const validate = argValidators[command];
  return validate(args) ? { ok: true, args: args as CommandArgs[C] } : { ok: false, message: `${command} args: ${explain(validate.errors)}` };
}

/** Builds a message with a fresh id and the current time. */
export function message<M extends { type: string; id: string; ts: number }>(body: Omit<M, 'id' | 'ts'>, id: string = crypto.randomUUID(), ts: number = Date.now()): M {
  return { ...body, id, ts } as M;
}
