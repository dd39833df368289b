// Property tests of the configuration loaders (edge-config/load.ts and
// hub-load.ts): for YAML-ish text made from tokens, for valid configurations
// with their trees mutated and for their text mutated line by line, loading
// either succeeds with a usable configuration or throws ConfigError — never
// anything else — and every line of its message is one problem in the
// `FILE:path: message (line N)` form.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError, formatProblem } from '../../edge-config/errors.js';
import { parseHubConfig } from '../../edge-config/hub-load.js';
import { parseGatewayConfig } from '../../edge-config/load.js';
import { compilePathPattern } from '../../edge-config/path-pattern.js';
import { gatewayYaml } from '../support/gateway.js';
import { posOrdersRoute } from '../support/pos.js';
import { check, printable, printableWarnings, trickyString } from './fuzz-params.js';

const FILE = '/etc/storegw/gate way.yaml';
const example = (name: string) => readFileSync(new URL(`../../edge-config/examples/${name}`, import.meta.url), 'utf8');

const GATEWAY_BASES = [
  example('one-uplink.yaml'),
  example('fiber-lte.yaml'),
  example('demo.yaml'),
  gatewayYaml('http://127.0.0.1:8069', `${posOrdersRoute(800)}\n  - name: web\n    match: { path: /web/** }\n    class: normal`, { extra: 'fleet: { hubUrl: "ws://hub:7070/v1/gateways/connect", tokenFile: fleet.token }' }),
];
const HUB_BASES = [example('hub/hub.yaml'), 'version: 1\nlisten: { port: 0 }\nauth: { gatewayTokensFile: g.yaml, opsTokens: [ { tokenFile: o.token, role: operator } ] }\n'];

// ---- Generators

const KEYS = ['version', 'store', 'id', 'region', 'gateway', 'listen', 'admin', 'host', 'port', 'paths', 'name', 'baseUrl', 'routes', 'match', 'path', 'method', 'jsonrpc', 'class', 'mode', 'buffer', 'cache', 'fleet', 'auth', 'opsTokens', 'tokenFile', 'role', '__proto__', 'constructor', '<<', '$schema'];
const SCALARS = ['1', '0', '-1', '65536', '1e400', '.nan', '.inf', 'null', '~', 'true', 'no', 'critical', 'buffer', '/web/**', 'http://x', '64MiB', '"${STORE_ID}"', '${PORT}', '"${X:-}"', '"${X:-a}b}"', '${', "''", '""', '"\\n"', '!!binary aGk=', '!!str 1', '!foo x', '&a x', '*a', '*b', '[1, 2]', '{}', '[]', '|\n  text', '>-'];
const token = fc.oneof(
  fc.constantFrom(...KEYS.map((k) => `${k}: `)),
  fc.constantFrom(...SCALARS),
  fc.constantFrom('\n', '\n  ', '\n    ', '\n- ', '  - ', ': ', '- ', '{ ', ' }', '[', ']', ', ', '? ', '# c', '---\n', '...\n', '%YAML 1.2\n', '&a ', '*a', '!!map ', '\t', '"', "'"),
  trickyString(4),
);
const yamlish = fc.array(token, { maxLength: 40 }).map((ts) => ts.join(''));

const env = fc.dictionary(fc.constantFrom('STORE_ID', 'PORT', 'X', 'ERP_URL', 'DATA_DIR', 'GATEWAY_PORT'), fc.oneof(fc.constantFrom('s1', '8080', '', 'http://127.0.0.1:1', '{a: 1}', '- x', '../../etc'), trickyString(6)), { maxKeys: 4 });

type Tree = unknown;
type Mutation = { at: number; kind: 'delete' | 'replace' | 'addKey' | 'wrap' | 'dup' | 'envify'; value: unknown; key: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('delete', 'replace', 'addKey', 'wrap', 'dup', 'envify'),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    trickyString(8),
    fc.constantFrom(-1, 0, 1, 1.5, 65_536, Number.MAX_SAFE_INTEGER, 2 ** 60, -0, Infinity, Number.NaN, '', ' ', '0.0.0.0/0', 'http://user:pw@x', 'http://x/#f', '/x', 'x', '999TiB', '1.5GB'),
  ),
  key: fc.oneof(fc.constantFrom(...KEYS), trickyString(6)),
});

/** Every container node of the tree with its parent and key, in a stable order. */
function slots(tree: Tree): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const out: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node))
      node.forEach((v, i) => {
        out.push({ parent: node, key: i });
        walk(v);
      });
    else if (node !== null && typeof node === 'object')
      for (const [k, v] of Object.entries(node)) {
        out.push({ parent: node as Record<string, unknown>, key: k });
        walk(v);
      }
  };
  walk(tree);
  return out;
}

function mutate(text: string, ms: Mutation[]): string {
  const tree = parseYaml(text) as Tree;
  for (const m of ms) {
    const all = slots(tree);
    if (all.length === 0) break;
    const { parent, key } = all[m.at % all.length]!;
    const p = parent as Record<string | number, unknown>;
    switch (m.kind) {
      case 'delete':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete p[key];
        break;
      // Copies: a value inserted twice must not make the tree a graph.
      case 'replace':
        p[key] = structuredClone(m.value);
        break;
      case 'addKey': {
        const target = p[key];
        if (target !== null && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: structuredClone(m.value), enumerable: true, writable: true, configurable: true });
        else p[key] = { [m.key]: structuredClone(m.value) };
        break;
      }
      case 'wrap':
        p[key] = [p[key]];
        break;
      case 'dup':
        if (Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
        else p[key] = structuredClone(p[key]);
        break;
      case 'envify':
        p[key] = typeof p[key] === 'string' || typeof p[key] === 'number' ? `\${${String(m.key).replace(/[^A-Z_]/gi, '') || 'X'}:-${String(p[key])}}` : '${X}';
        break;
    }
  }
  return stringifyYaml(tree);
}

type LineEdit = { at: number; kind: 'delete' | 'dup' | 'swap' | 'indent' | 'insert' | 'truncate'; text: string; n: number };
const lineEdit: fc.Arbitrary<LineEdit> = fc.record({ at: fc.nat(), kind: fc.constantFrom('delete', 'dup', 'swap', 'indent', 'insert', 'truncate'), text: fc.oneof(token, trickyString(3)), n: fc.nat() });

function editLines(text: string, edits: LineEdit[]): string {
  const lines = text.split('\n');
  for (const e of edits) {
    const i = e.at % lines.length;
    const line = lines[i]!;
    switch (e.kind) {
      case 'delete':
        lines.splice(i, 1);
        break;
      case 'dup':
        lines.splice(i, 0, line);
        break;
      case 'swap': {
        const j = e.n % lines.length;
        [lines[i], lines[j]] = [lines[j]!, line];
        break;
      }
      case 'indent':
        lines[i] = ' '.repeat(e.n % 5) + line.trimStart();
        break;
      case 'insert': {
        const c = e.n % (line.length + 1);
        lines[i] = line.slice(0, c) + e.text + line.slice(c);
        break;
      }
      case 'truncate':
        return lines.slice(0, i).join('\n') + '\n' + line.slice(0, e.n % (line.length + 1));
    }
    if (lines.length === 0) lines.push('');
  }
  return lines.join('\n');
}

// ---- The property

// The YAML parser warns (process.emitWarning) about what it tolerates in the fuzzed
// text, quoting it: NULs and all. Those warnings are printed escaped.
let restoreWarnings: () => void = () => {};
beforeAll(() => {
  restoreWarnings = printableWarnings();
});
afterAll(() => restoreWarnings());

function loadsOrExplains<T>(load: () => T, onLoaded: (value: T) => void, text: string): void {
  let value: T;
  try {
    value = load();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`threw ${(e as Error)?.constructor?.name}, not ConfigError: ${printable(String((e as Error)?.message).slice(0, 300))}`);
    expect(e.file).toBe(FILE);
    expect(e.problems.length).toBeGreaterThan(0);
    const lines = e.message.split('\n');
    // One line per problem, each in the FILE:path: message (line N) form.
    expect(lines).toHaveLength(e.problems.length);
    const textLines = text.split('\n').length;
    lines.forEach((line, i) => {
      expect(line).toBe(formatProblem(FILE, e.problems[i]!));
      expect(line.startsWith(`${FILE}:`)).toBe(true);
      expect(line.slice(FILE.length + 1)).toMatch(/^[^\n\r]*?: \S[^\n\r\u2028\u2029]*$/);
      // eslint-disable-next-line no-control-regex
      expect(/[\u0000-\u0008\u000a-\u001f\u007f\u2028\u2029]/.test(line)).toBe(false);
      const lineNo = /\(line (\d+)\)$/.exec(line)?.[1];
      if (lineNo !== undefined) expect(Number(lineNo)).toBeGreaterThanOrEqual(1), expect(Number(lineNo)).toBeLessThanOrEqual(textLines + 1);
    });
    return;
  }
  onLoaded(value);
}

const gatewayLoads = (text: string, e: NodeJS.ProcessEnv) =>
  loadsOrExplains(
    () => parseGatewayConfig(text, FILE, e),
    (loaded) => {
      const c = loaded.config;
      expect(c.paths.length).toBeGreaterThan(0);
      expect(c.routes.length).toBeGreaterThan(0);
      for (const r of c.routes) if (r.match.path !== undefined) expect(() => compilePathPattern(r.match.path!)).not.toThrow();
      for (const p of c.paths) expect(['http:', 'https:']).toContain(new URL(p.baseUrl).protocol);
      expect(Number.isFinite(c.gateway.limits.maxBodyBytes) && c.gateway.limits.maxBodyBytes >= 0).toBe(true);
      expect(Number.isFinite(c.buffer.maxBytes)).toBe(true);
      expect(loaded.version).toMatch(/^[0-9a-f]{12}$/);
    },
    text,
  );

const hubLoads = (text: string, e: NodeJS.ProcessEnv) =>
  loadsOrExplains(
    () => parseHubConfig(text, FILE, e),
    (loaded) => {
      const c = loaded.config;
      expect(c.store.rawRetentionHours).toBeLessThanOrEqual(c.store.telemetryRetentionHours);
      expect(new Set(c.auth.opsTokens.map((t) => t.name)).size).toBe(c.auth.opsTokens.length);
      expect(Number.isFinite(c.connections.maxBufferedBytes)).toBe(true);
    },
    text,
  );

describe('gateway config loader (fuzz)', () => {
  it('YAML-ish text: ConfigError or a config, nothing else (1000 runs)', () => {
    check(fc.property(yamlish, env, (text, e) => gatewayLoads(text, e)), 1000);
  });

  it('valid configs with their trees mutated (1000 runs)', () => {
    check(fc.property(fc.constantFrom(...GATEWAY_BASES), fc.array(mutation, { minLength: 1, maxLength: 4 }), env, (base, ms, e) => gatewayLoads(mutate(base, ms), e)), 1000);
  });

  it('valid configs with their text mutated (1000 runs)', () => {
    check(fc.property(fc.constantFrom(...GATEWAY_BASES), fc.array(lineEdit, { minLength: 1, maxLength: 4 }), env, (base, edits, e) => gatewayLoads(editLines(base, edits), e)), 1000);
  });

  it.each([
    ['a recursive alias', 'version: &v [*v]\n'],
    ['a recursive mapping alias', 'store: &s { id: *s }\n'],
    ['an alias bomb', 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n'],
    ['a key with a line break', '"a\\nb": 1\n'],
    ['a value with a line break', GATEWAY_BASES[0]!.replace(/baseUrl: \S+/, 'baseUrl: "http://x\\nFAKE.yaml:paths: injected"')],
    ['a __proto__ key', '__proto__: { version: 1 }\n'],
    ['a size past 2^53 bytes', GATEWAY_BASES[3]!.replace('buffer: { path: ./journal.db }', 'buffer: { path: ./journal.db, maxBytes: 9007199254740992 }')],
    ['a size text past 2^53 bytes', GATEWAY_BASES[3]!.replace('cache: { path: ./cache.db }', 'cache: { path: ./cache.db, maxBytes: 99999999999999999999TiB }')],
  ])('%s: a ConfigError in the one-line form', (_name, text) => {
    expect(() => parseGatewayConfig(text, FILE, {})).toThrow(ConfigError);
    gatewayLoads(text, {});
  });
});

describe('hub config loader (fuzz)', () => {
  it('YAML-ish text (1000 runs)', () => {
    check(fc.property(yamlish, env, (text, e) => hubLoads(text, e)), 1000);
  });

  it('valid configs with their trees mutated (1000 runs)', () => {
    check(fc.property(fc.constantFrom(...HUB_BASES), fc.array(mutation, { minLength: 1, maxLength: 4 }), env, (base, ms, e) => hubLoads(mutate(base, ms), e)), 1000);
  });

  it('valid configs with their text mutated (1000 runs)', () => {
    check(fc.property(fc.constantFrom(...HUB_BASES), fc.array(lineEdit, { minLength: 1, maxLength: 4 }), env, (base, edits, e) => hubLoads(editLines(base, edits), e)), 1000);
  });

  it('a recursive alias, an alias bomb, sizes past 2^53 bytes: ConfigError', () => {
    for (const text of [HUB_BASES[1]! + 'connections: { maxBufferedBytes: 9007199254740992 }\n', HUB_BASES[1]! + 'connections: { maxBufferedBytes: 999999999999999999999GiB }\n', 'store: &s { path: *s }\n', 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n']) {
      expect(() => parseHubConfig(text, FILE, {})).toThrow(ConfigError);
    }
  });
});
