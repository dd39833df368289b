// Property tests of the Odoo JSON-RPC parser (src/gateway/jsonrpc.ts): for any
// body — JSON or not, valid UTF-8 or not, Odoo-shaped or nearly — it never
// throws; what it accepts names a model and method that are strings taken from
// the body exactly where Odoo reads them; and a URL naming another call than
// the body is refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonRpc } from '../../src/gateway/jsonrpc.js';
import { check, trickyString } from './fuzz-params.js';

const CALL_KW = '/web/dataset/call_kw';
const MODELS = ['pos.order', 'product.product', 'res.users', 'stock.picking', ''];
const METHODS = ['sync_from_ui', 'search_read', 'unlink', 'write', 'button_validate', ''];

const name = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...MODELS, ...METHODS) }, { weight: 1, arbitrary: trickyString(8) });
/** A value where a string is expected: mostly a string, sometimes anything JSON can hold. */
const maybeString = fc.oneof({ weight: 4, arbitrary: name }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });

const callKwBody = fc.record(
  { jsonrpc: fc.constant('2.0'), method: fc.constant('call'), id: fc.jsonValue({ maxDepth: 1 }), params: fc.record({ model: maybeString, method: maybeString, args: fc.jsonValue({ maxDepth: 2 }), kwargs: fc.constant({}) }, { requiredKeys: [] }) },
  { requiredKeys: [] },
);
const executeBody = fc.record(
  {
    params: fc.record(
      {
        service: fc.oneof(fc.constantFrom('object', 'common', 'db', 'Object'), maybeString),
        method: fc.oneof(fc.constantFrom('execute_kw', 'execute', 'login', 'version'), maybeString),
        args: fc.oneof(fc.tuple(fc.constant('db'), fc.integer(), fc.constant('pw'), maybeString, maybeString, fc.jsonValue({ maxDepth: 1 })), fc.array(maybeString, { maxLength: 6 }), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** Body text: the shapes above serialised, plus JSON text edits, duplicate keys, raw garbage. */
const bodyText = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(callKwBody, executeBody, anyJson).map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.tuple(name, name, name).map(([m, a, b]) => `{"params":{"model":${JSON.stringify(m)},"method":${JSON.stringify(a)},"method":${JSON.stringify(b)}}}`) },
  { weight: 1, arbitrary: fc.tuple(fc.oneof(callKwBody, executeBody).map((v) => JSON.stringify(v)), fc.nat(), trickyString(3)).map(([t, at, ins]) => t.slice(0, at % (t.length + 1)) + ins + t.slice(at % (t.length + 1))) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
);
const body: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 4, arbitrary: bodyText },
  { weight: 1, arbitrary: bodyText.map((t) => Buffer.from(t)) },
  // Invalid UTF-8 spliced into a body.
  { weight: 1, arbitrary: fc.tuple(bodyText, fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.nat()).map(([t, bytes, at]) => { const b = Buffer.from(t); const i = at % (b.length + 1); return Buffer.concat([b.subarray(0, i), Buffer.from(bytes), b.subarray(i)]); }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)) },
);

const path = fc.oneof(
  fc.constantFrom('/jsonrpc', CALL_KW, '/web/dataset/call_button'),
  fc.tuple(name, name).map(([m, f]) => `${CALL_KW}/${m}/${f}`),
);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Where Odoo reads the call, from the body as JSON.parse (and Python's json) read it: last duplicate key wins. */
function oracle(p: string, parsed: unknown): { model: unknown; method: unknown } | undefined {
  if (!isObject(parsed) || !isObject(parsed.params)) return undefined;
  const params = parsed.params;
  if (p === '/jsonrpc') {
    if (params.service === 'object' && (params.method === 'execute_kw' || params.method === 'execute')) {
      const args = params.args;
      return Array.isArray(args) ? { model: args[3], method: args[4] } : undefined;
    }
    return { model: '', method: `${String(params.service)}.${String(params.method)}` };
  }
  return { model: params.model, method: params.method };
}

describe('JSON-RPC parser (fuzz)', () => {
  it('never throws; an accepted call has string model and method taken from the body where Odoo reads them (3000 runs)', () => {
    check(
      fc.property(path, body, (p, raw) => {
        const r = parseJsonRpc(p, raw);
        if (!r.ok) {
          expect(typeof r.reason).toBe('string');
          return;
        }
        expect(typeof r.call.model).toBe('string');
        expect(typeof r.call.method).toBe('string');
        const parsed: unknown = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
        expect(r.body).toEqual(parsed);
        expect(r.call).toEqual(oracle(p, parsed));
      }),
      3000,
    );
  });

  it('refuses a call_kw URL that names another model or method than the body (2000 runs)', () => {
    const nonEmpty = name.filter((s) => s !== '' && !s.includes('/'));
    check(
      fc.property(nonEmpty, nonEmpty, fc.oneof(fc.constantFrom(...MODELS), nonEmpty), fc.oneof(fc.constantFrom(...METHODS), nonEmpty), (urlModel, urlMethod, model, method) => {
        const r = parseJsonRpc(`${CALL_KW}/${urlModel}/${urlMethod}`, JSON.stringify({ params: { model, method, args: [], kwargs: {} } }));
        if (urlModel === model && urlMethod === method) expect(r).toMatchObject({ ok: true, call: { model, method } });
        else expect(r.ok).toBe(false);
      }),
      2000,
    );
  });

  it('refuses a call_kw URL that names only a model other than the body (500 runs)', () => {
    const nonEmpty = name.filter((s) => s !== '' && !s.includes('/'));
    check(
      fc.property(nonEmpty, nonEmpty, fc.constantFrom('', '/'), (urlModel, model, trailer) => {
        fc.pre(urlModel !== model);
        const r = parseJsonRpc(`${CALL_KW}/${urlModel}${trailer}`, JSON.stringify({ params: { model, method: 'unlink', args: [], kwargs: {} } }));
        expect(r.ok).toBe(false);
      }),
      500,
    );
  });
});
