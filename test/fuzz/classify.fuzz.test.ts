// Property tests of the route classifier (src/gateway/classify.ts): whatever the
// method, path, host and JSON-RPC call, classification never throws and names
// the first configured route whose match fits, judged by an independent oracle
// (a glob matcher written without regular expressions); a `/**` route takes its
// prefix and everything below it, and nothing beside it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RouteConfig, RouteMatch } from '../../edge-config/schema.js';
import { compileRoutes, type RequestFacts } from '../../src/gateway/classify.js';
import { checkRequestTarget } from '../../src/gateway/request-target.js';
import { check, trickyString } from './fuzz-params.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const MODELS = ['', 'pos.order', 'product.product', 'res.users', 'stock.picking'];
const RPC_METHODS = ['sync_from_ui', 'search_read', 'write', 'unlink', 'common.login', 'button_validate'];

/** A path segment as the classifier sees it: decoded, so anything but '/' (control characters included: the classifier is pure and must cope). */
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('web', 'image', 'api', 'dataset', 'call_kw', 'x', 'pos.order', 'web.', '.web', '..x', 'a-b', '') },
  { weight: 2, arbitrary: trickyString(6).map((s) => s.replace(/\//g, '')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }).map((s) => s.replace(/\//g, '')) },
);
const path = fc.array(segment, { minLength: 0, maxLength: 5 }).map((segs) => '/' + segs.join('/'));

/** A path pattern: literal segments, `*` and `**` pieces, an optional final `/*` or `/**`. */
const patternSegment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('web', 'image', 'api', 'x', 'pos.order', 'a-b', 'a+b', '(x)', '[x]', '$', '^x', 'a|b', 'x.y') },
  { weight: 2, arbitrary: fc.constantFrom('*', '**', 'a*', '*b', 'a*b', '***', 'x**y') },
  { weight: 1, arbitrary: trickyString(4).map((s) => s.replace(/[/\\]/g, '')) },
);
const pattern = fc
  .tuple(fc.array(patternSegment, { maxLength: 4 }), fc.constantFrom('', '/*', '/**'))
  .map(([segs, tail]) => ('/' + segs.join('/') + tail).replace(/^\/\/+/, '/'));

const host = fc.oneof(fc.constant(''), fc.constantFrom('erp.example', 'a.reports.example', 'reports.example', 'xreports.example', '[::1]', '127.0.0.1'), trickyString(8).map((s) => s.toLowerCase()));
const hostPattern = fc.constantFrom('erp.example', '*.reports.example', 'REPORTS.example', '*.example', '127.0.0.1');

const match: fc.Arbitrary<RouteMatch> = fc.record(
  {
    method: fc.oneof(fc.constantFrom(...METHODS, 'get', 'Post'), fc.subarray([...METHODS, 'get'], { minLength: 1 })),
    path: pattern,
    host: hostPattern,
    jsonrpc: fc.record({ model: fc.constantFrom(...MODELS), method: fc.constantFrom(...RPC_METHODS) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<RouteMatch>;

const routes = fc.array(match, { minLength: 0, maxLength: 6 }).map((ms) =>
  ms.map((m, i): RouteConfig => ({ name: `r${i}`, match: m, class: 'normal', mode: 'passthrough', timeoutMs: 1000, orderingKey: 'device', heldAnswer: 'receipt', failureAnswer: 'json', websocket: false })),
);

const facts: fc.Arbitrary<RequestFacts> = fc.record({
  method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 8 })),
  path,
  host,
  jsonrpc: fc.option(fc.record({ model: fc.oneof(fc.constantFrom(...MODELS), fc.string({ maxLength: 6 })), method: fc.oneof(fc.constantFrom(...RPC_METHODS), fc.string({ maxLength: 6 })) }), {
    nil: undefined,
  }),
});

// ---- The oracle: what docs/architecture.md says a match means, without regular expressions.

type Token = { kind: 'lit'; ch: string } | { kind: 'star' } | { kind: 'globstar' };

function tokenize(head: string): Token[] {
  const out: Token[] = [];
  // Iterate by UTF-16 unit, as the path is compared unit by unit.
  for (let i = 0; i < head.length; i++) {
    if (head[i] === '*' && head[i + 1] === '*') {
      out.push({ kind: 'globstar' });
      i++;
    } else if (head[i] === '*') out.push({ kind: 'star' });
    else out.push({ kind: 'lit', ch: head[i]! });
  }
  return out;
}

/** Does `tokens` match all of `s`? `*` within one segment, `**` across segments. */
function globMatches(tokens: Token[], s: string): boolean {
  const memo = new Map<number, boolean>();
  const go = (t: number, j: number): boolean => {
    const key = t * (s.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let r: boolean;
    if (t === tokens.length) r = j === s.length;
    else {
      const tok = tokens[t]!;
      if (tok.kind === 'lit') r = j < s.length && s[j] === tok.ch && go(t + 1, j + 1);
      else {
        r = go(t + 1, j);
        for (let k = j; !r && k < s.length; k++) {
          if (tok.kind === 'star' && s[k] === '/') break;
          r = go(t + 1, k + 1);
        }
      }
    }
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

function pathOracle(pat: string, p: string): boolean {
  const tail = /\/\*\*?$/.exec(pat);
  if (!tail) return globMatches(tokenize(pat), p);
  const tokens = tokenize(pat.slice(0, tail.index));
  // The prefix itself, or the prefix and anything below it.
  if (globMatches(tokens, p)) return true;
  for (let k = 0; k < p.length; k++) if (p[k] === '/' && globMatches(tokens, p.slice(0, k))) return true;
  return false;
}

function hostOracle(pat: string, h: string): boolean {
  const p = pat.toLowerCase();
  if (p.startsWith('*.')) return h.length > p.length - 1 && h.endsWith(p.slice(1));
  return h === p;
}

function matchOracle(m: RouteMatch, f: RequestFacts): boolean {
  if (m.method !== undefined && !(Array.isArray(m.method) ? m.method : [m.method]).some((x) => x.toUpperCase() === f.method)) return false;
  if (m.path !== undefined && !pathOracle(m.path, f.path)) return false;
  if (m.host !== undefined && !hostOracle(m.host, f.host)) return false;
  if (m.jsonrpc !== undefined) {
    if (f.jsonrpc === undefined) return false;
    if (m.jsonrpc.model !== undefined && m.jsonrpc.model !== f.jsonrpc.model) return false;
    if (m.jsonrpc.method !== undefined && m.jsonrpc.method !== f.jsonrpc.method) return false;
  }
  return true;
}

describe('route classifier (fuzz)', () => {
  it('never throws; answers the first route the oracle matches, or undefined (1000 runs)', () => {
    check(
      fc.property(routes, facts, (rs, f) => {
        const table = compileRoutes(rs);
        const got = table.classify(f);
        const expected = rs.find((r) => matchOracle(r.match, f));
        expect(got === undefined || rs.includes(got)).toBe(true);
        expect(got?.name).toBe(expected?.name);
      }),
      1000,
    );
  });

  it('a `/**` (or final `/*`) route takes its prefix and everything below it, and nothing beside it (1000 runs)', () => {
    const literal = fc.array(fc.constantFrom('web', 'image', 'x.y', 'a+b', '(x)', 'a|b', '$', 'pos.order'), { minLength: 1, maxLength: 3 }).map((s) => '/' + s.join('/'));
    const rest = fc.array(segment, { minLength: 0, maxLength: 4 }).map((segs) => segs.join('/'));
    check(
      fc.property(literal, fc.constantFrom('/**', '/*'), rest, trickyString(4), (prefix, tail, below, beside) => {
        const table = compileRoutes([{ name: 'prefix', match: { path: prefix + tail }, class: 'bulk', mode: 'passthrough', timeoutMs: 1000, orderingKey: 'device' }]);
        const classify = (p: string) => table.classify({ method: 'GET', path: p, host: '' })?.name;
        // Everything under the prefix, whatever its characters (a decoded path may hold any but controls).
        expect(classify(prefix)).toBe('prefix');
        expect(classify(`${prefix}/${below}`)).toBe('prefix');
        // Nothing beside it: the prefix is segment-aligned.
        const sibling = prefix + (beside === '' || beside.startsWith('/') ? 'x' + beside : beside);
        if (!sibling.startsWith(prefix + '/')) expect(classify(sibling)).toBeUndefined();
        expect(classify(prefix.slice(0, -1))).toBeUndefined();
      }),
      1000,
    );
  });

  it('classifies what passed the target check: the decoded path of any accepted target (500 runs)', () => {
    // Targets built from percent-encoded tricky characters, decoded by checkRequestTarget as the ingress does.
    const encodedSeg = fc.array(fc.constantFrom('web', 'x', '%e2%80%a8', '%e2%80%a9', '%c2%85', '%20', '%2a', '%3f', '%25', 'a.b', '%e9', '%C3%A9'), { maxLength: 4 }).map((p) => p.join(''));
    const target = fc.array(encodedSeg, { maxLength: 4 }).map((segs) => '/web/' + segs.join('/'));
    check(
      fc.property(target, (t) => {
        const checked = checkRequestTarget(t);
        fc.pre(checked.ok);
        if (!checked.ok) return;
        const table = compileRoutes([{ name: 'web', match: { path: '/web/**' }, class: 'normal', mode: 'passthrough', timeoutMs: 1000, orderingKey: 'device' }]);
        expect(table.classify({ method: 'GET', path: checked.path, host: '' })?.name).toBe('web');
      }),
      500,
    );
  });
});
