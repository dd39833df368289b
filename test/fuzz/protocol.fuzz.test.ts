// Property tests of the fleet protocol decoders (src/fleet/protocol.ts), the
// hub's and the agent's only way to read a frame: for arbitrary frames (text,
// bytes, JSON of any shape) and for valid messages with fields removed, added,
// retyped or replaced, parseGatewayMessage / parseHubMessage / parseCommandArgs
// never throw; an accepted message is the frame's JSON, of a type that side
// may receive, and is accepted again when re-encoded; a refusal carries one of
// the documented codes and, as `re`, only an id the frame really carried.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BATCH_EXAMPLES, COMMANDS, EVENTS, EventDetailsSchemas, MAX_FRAME_BYTES, parseCommandArgs, parseGatewayMessage, parseHubMessage, type CommandName } from '../../src/fleet/protocol.js';
import { check, trickyString } from './fuzz-params.js';

const CODES = ['too_large', 'malformed', 'unknown_type', 'invalid'];
const ID = /^[A-Za-z0-9._:-]{1,64}$/;
const FROM_GATEWAY = ['hello', 'telemetry', 'event', 'result', 'error'];
const FROM_HUB = ['command', 'error'];

const id = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/), fc.uuid());
const ts = fc.integer({ min: 0, max: 4_102_444_800_000 });
const pathTelemetry = fc.record(
  {
    name: fc.stringMatching(/^[a-z]{1,32}$/),
    state: fc.constantFrom('up', 'degraded', 'down'),
    score: fc.integer({ min: 0, max: 100 }),
    rttMs: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null }),
    jitterMs: fc.double({ noNaN: true, noDefaultInfinity: true }),
    lossPct: fc.double({ min: 0, max: 100, noNaN: true }),
    handshakeAgeS: fc.option(fc.nat(), { nil: null }),
  },
  { requiredKeys: ['name', 'state', 'score', 'rttMs', 'jitterMs', 'lossPct'] },
);
const queue = fc.record(
  { pending: fc.nat(), dead: fc.nat(), oldestAgeS: fc.nat(), bytes: fc.nat(), unknown: fc.nat(), maxAgeS: fc.integer({ min: 1 }), expiryWarning: fc.option(fc.double({ min: 0.001, max: 0.999, noNaN: true })) },
  { requiredKeys: ['pending', 'dead', 'oldestAgeS'] },
);
const receipt = fc.uuid().map((u) => u.toLowerCase());
const unknownOutcome = fc.record({
  receipt,
  route: fc.string({ minLength: 1, maxLength: 128 }),
  cls: fc.string({ minLength: 1, maxLength: 32 }),
  reason: fc.string({ maxLength: 200 }),
  attempts: fc.nat(),
});
const batchEntries = fc.array(fc.record({ receipt, route: fc.string({ minLength: 1, maxLength: 128 }), reason: fc.string({ maxLength: 200 }) }), { maxLength: BATCH_EXAMPLES });
const fraction = fc.double({ min: 0.001, max: 0.999, noNaN: true });
/** Events with free-form details; the others carry their own fields (EventDetailsSchemas). */
const FREE_EVENTS = EVENTS.filter((e) => !(e in EventDetailsSchemas));
const errorBody = fc.record({ code: fc.string({ maxLength: 64 }), message: fc.string({ maxLength: 200 }) });

const validGatewayMessage = fc.oneof(
  fc.record({
    type: fc.constant('hello'),
    id,
    ts,
    store: fc.record({ id, region: fc.string({ minLength: 1, maxLength: 64 }), tags: fc.array(fc.string({ maxLength: 64 }), { maxLength: 4 }) }),
    version: fc.string({ maxLength: 32 }),
    configVersion: fc.string({ maxLength: 64 }),
    paths: fc.array(pathTelemetry, { maxLength: 3 }),
  }),
  fc.record(
    {
      type: fc.constant('telemetry'),
      id,
      ts,
      configVersion: fc.string({ maxLength: 64 }),
      paths: fc.array(pathTelemetry, { maxLength: 3 }),
      queue,
      requests: fc.dictionary(fc.string({ maxLength: 32 }), fc.dictionary(fc.string({ maxLength: 32 }), fc.nat())),
      spooled: fc.boolean(),
      rolledUp: fc.integer({ min: 2, max: 1000 }),
    },
    { requiredKeys: ['type', 'id', 'ts', 'configVersion', 'paths', 'queue', 'requests'] },
  ),
  fc.record({ type: fc.constant('event'), id, ts, event: fc.constantFrom(...FREE_EVENTS), details: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })) }),
  fc.record({ type: fc.constant('event'), id, ts, event: fc.constantFrom('unknown_outcome', 'dead_letter'), details: unknownOutcome }),
  fc.record({ type: fc.constant('event'), id, ts, event: fc.constant('journal.expired'), details: fc.record({ count: fc.integer({ min: 1 }), maxAgeHours: fc.double({ min: 0.01, max: 10_000, noNaN: true }), entries: batchEntries }) }),
  fc.record({ type: fc.constant('event'), id, ts, event: fc.constantFrom('dead_letter.summary', 'unknown_outcome.summary'), details: fc.record({ count: fc.integer({ min: 1 }), sinceTs: ts, entries: batchEntries }) }),
  fc.record({
    type: fc.constant('event'),
    id,
    ts,
    event: fc.constantFrom('journal.near_expiry', 'journal.near_expiry_cleared'),
    details: fc.record({ fraction, oldestAgeS: fc.nat(), maxAgeS: fc.integer({ min: 1 }), pending: fc.nat() }),
  }),
  fc.record({ type: fc.constant('result'), id, ts, re: id, ok: fc.boolean(), result: fc.jsonValue({ maxDepth: 2 }), error: errorBody }, { requiredKeys: ['type', 'id', 'ts', 're', 'ok'] }),
  fc.record({ type: fc.constant('error'), id, ts, re: id, error: errorBody }, { requiredKeys: ['type', 'id', 'ts', 'error'] }),
);
const validHubMessage = fc.oneof(
  fc.record({ type: fc.constant('command'), id, ts, command: fc.constantFrom(...COMMANDS), args: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })) }),
  fc.record({ type: fc.constant('error'), id, ts, re: id, error: errorBody }, { requiredKeys: ['type', 'id', 'ts', 'error'] }),
);

type Edit = { at: number; kind: 'delete' | 'retype' | 'add' | 'replace'; key: string; value: unknown };
const edit: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('delete', 'retype', 'add', 'replace'),
  key: fc.oneof(fc.constantFrom('type', 'id', 'ts', 're', 'store', 'paths', 'queue', 'details', 'receipt', 'receipts', 'as', 'by', '__proto__', 'constructor', 'extra'), trickyString(5)),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('hello', 'command', 'telemetry', 'error', 'result', 'event', 'x'.repeat(65), 'a b', '', -1, 1.5, 2 ** 53, null, [], {}),
    trickyString(8),
  ),
});

/** Applies edits at random depths of a JSON value (objects and arrays alike). */
function applyEdits(value: unknown, edits: Edit[]): unknown {
  const root = structuredClone(value);
  for (const e of edits) {
    const nodes: (Record<string, unknown> | unknown[])[] = [];
    const walk = (n: unknown) => {
      if (n !== null && typeof n === 'object') {
        nodes.push(n as Record<string, unknown>);
        for (const v of Object.values(n)) walk(v);
      }
    };
    walk(root);
    const node = nodes[e.at % nodes.length]!;
    const keys = Object.keys(node);
    // Arrays are edited by index only (JSON cannot carry named properties of arrays).
    if (Array.isArray(node) && keys.length === 0 && e.kind !== 'add') continue;
    const key = keys.length > 0 && e.kind !== 'add' ? keys[e.at % keys.length]! : e.key;
    const n = node as Record<string, unknown>;
    switch (e.kind) {
      case 'delete':
        if (Array.isArray(node)) node.splice(Number(key), 1);
        else delete n[key];
        break;
      case 'retype':
        n[key] = typeof n[key] === 'string' ? 0 : typeof n[key] === 'number' ? String(n[key]) : Array.isArray(n[key]) ? {} : [n[key]];
        break;
      // Copies: a value inserted twice (fast-check's constants are shared instances) must not make a cycle.
      case 'add':
        if (Array.isArray(node)) node.push(structuredClone(e.value));
        else Object.defineProperty(n, key, { value: structuredClone(e.value), enumerable: true, writable: true, configurable: true });
        break;
      case 'replace':
        n[key] = structuredClone(e.value);
        break;
    }
  }
  return root;
}

const frame = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<string | Buffer> =>
  fc.oneof(
    { weight: 2, arbitrary: valid.map((m) => JSON.stringify(m)) },
    { weight: 4, arbitrary: fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([m, es]) => JSON.stringify(applyEdits(m, es))) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)) },
    { weight: 1, arbitrary: fc.tuple(valid.map((m) => JSON.stringify(m)), fc.nat()).map(([t, n]) => t.slice(0, n % (t.length + 1))) },
    { weight: 1, arbitrary: valid.map((m) => Buffer.from(JSON.stringify(m))) },
  );

function checkDecoded(decode: (f: string | Buffer) => ReturnType<typeof parseGatewayMessage> | ReturnType<typeof parseHubMessage>, allowed: string[], f: string | Buffer): void {
  const r = decode(f);
  const text = typeof f === 'string' ? f : f.toString('utf8');
  if (r.ok) {
    const json: unknown = JSON.parse(text);
    expect(r.message).toEqual(json);
    expect(allowed).toContain(r.message.type);
    expect(r.message.id).toMatch(ID);
    expect(Number.isInteger(r.message.ts) && r.message.ts >= 0).toBe(true);
    // What was accepted is accepted again as sent on (the hub stores and forwards it).
    expect(decode(JSON.stringify(r.message)).ok).toBe(true);
    return;
  }
  expect(CODES).toContain(r.error.code);
  expect(typeof r.error.message).toBe('string');
  expect(r.error.message.length).toBeLessThan(2000);
  if (r.error.re !== undefined) {
    expect(r.error.re).toMatch(ID);
    expect((JSON.parse(text) as { id: unknown }).id).toBe(r.error.re);
  }
}

describe('fleet protocol decoders (fuzz)', () => {
  it('parseGatewayMessage: never throws; ok is a valid gateway message; errors use the documented codes (3000 runs)', () => {
    check(fc.property(frame(validGatewayMessage), (f) => checkDecoded(parseGatewayMessage, FROM_GATEWAY, f)), 3000);
  });

  it('parseHubMessage: the same for what the hub sends (2000 runs)', () => {
    check(fc.property(frame(fc.oneof(validHubMessage, validGatewayMessage)), (f) => checkDecoded(parseHubMessage, FROM_HUB, f)), 2000);
  });

  it('unmutated valid messages are accepted (500 runs)', () => {
    check(
      fc.property(validGatewayMessage, validHubMessage, (g, h) => {
        expect(parseGatewayMessage(JSON.stringify(g))).toMatchObject({ ok: true });
        expect(parseHubMessage(JSON.stringify(h))).toMatchObject({ ok: true });
      }),
      500,
    );
  });

  it('parseCommandArgs: never throws, for every command and any args (2000 runs)', () => {
    check(
      fc.property(fc.constantFrom(...COMMANDS), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.anything()), (command: CommandName, args) => {
        const r = parseCommandArgs(command, args);
        if (r.ok) expect(r.args).toBe(args);
        else expect(r.message.startsWith(`${command} args: `)).toBe(true);
      }),
      2000,
    );
  });

  it('queue.settle args: valid ones pass; edited ones pass only while still receipts, a verdict and a printable who (2000 runs)', () => {
    const settle = fc.record({ receipts: fc.array(receipt, { minLength: 1, maxLength: 5 }), as: fc.constantFrom('retry', 'delivered'), by: fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/) });
    check(
      fc.property(settle, fc.array(edit, { maxLength: 3 }), (args, es) => {
        const edited = applyEdits(args, es) as Record<string, unknown>;
        const r = parseCommandArgs('queue.settle', edited);
        const receipts = edited.receipts;
        const valid =
          Object.keys(edited).sort().join() === 'as,by,receipts' &&
          Array.isArray(receipts) && receipts.length >= 1 && receipts.length <= 1000 && receipts.every((x) => typeof x === 'string' && /^[0-9a-f-]{36}$/.test(x)) &&
          (edited.as === 'retry' || edited.as === 'delivered') &&
          typeof edited.by === 'string' && edited.by.length >= 1 && edited.by.length <= 128 && !/[\u0000-\u001f\u007f]/.test(edited.by);
        expect(r.ok).toBe(valid);
      }),
      2000,
    );
  });

  it('frames over the limit are refused as too_large, before any parsing (10 runs)', () => {
    check(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.constantFrom('a', 'é', '{'), (extra, ch) => {
        const big = ch.repeat(Math.ceil((MAX_FRAME_BYTES + extra) / Buffer.byteLength(ch)));
        expect(parseGatewayMessage(big)).toMatchObject({ ok: false, error: { code: 'too_large' } });
        expect(parseHubMessage(Buffer.from(big))).toMatchObject({ ok: false, error: { code: 'too_large' } });
      }),
      10,
    );
  });
});
