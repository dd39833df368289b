import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { parseGatewayConfig } from './load.js';
import { gatewayJsonSchema } from './schema.js';
import { minimalGatewayYaml } from '../test/support/minimal-config.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const MINIMAL = `\n${minimalGatewayYaml('store-1', 'eu')}`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseGatewayConfig(text, '/etc/storegw/store.yaml', env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message.split('\n');
  }
  throw new Error('expected the configuration to be refused');
}

describe('gateway configuration loading', () => {
  it.each(readdirSync(here('./examples')).filter((f) => f.endsWith('.yaml')))('example %s is valid', (file) => {
    const path = here(`./examples/${file}`);
    expect(() => parseGatewayConfig(readFileSync(path, 'utf8'), path, {})).not.toThrow();
  });

  it('applies defaults: classes, limits, buffer, replay, link, path settings', () => {
    const { config } = parseGatewayConfig(MINIMAL, '/etc/storegw/store.yaml', {});
    expect(config.classes).toEqual({
      critical: { priority: 0, maxQueueMs: 200, degradedShare: 1 },
      interactive: { priority: 1, maxQueueMs: 500, degradedShare: 1 },
      normal: { priority: 2, maxQueueMs: 2000, degradedShare: 0.25 },
      bulk: { priority: 3, maxQueueMs: 10000, degradedShare: 0 },
    });
    expect(config.gateway.listen.host).toBe('0.0.0.0');
    expect(config.gateway.admin.host).toBe('127.0.0.1');
    expect(config.gateway.limits).toEqual({ maxBodyBytes: 64 * 2 ** 20, maxJsonRpcBodyBytes: 8 * 2 ** 20, maxWebSockets: 256 });
    expect(config.paths[0]).toMatchObject({ allowClasses: ['critical', 'interactive', 'normal', 'bulk'], maxInFlight: 32, metered: false });
    expect(config.routes[0]).toMatchObject({ mode: 'passthrough', timeoutMs: 10000, orderingKey: 'device' });
    expect(config.buffer).toEqual({ path: '/etc/storegw/data/journal.db', maxBytes: 2 ** 30, maxAgeHours: 168, expiryWarnings: [0.5, 0.9] });
    expect(config.replay).toEqual({ ratePerSec: 50, concurrency: 4, backoff: { baseMs: 500, maxMs: 60000 }, maxServerErrorAttempts: 10, startJitterMs: 2000 });
    expect(config.link).toEqual({ downAfter: 3, upAfter: 5, upHoldDownMs: 2000, wireguardIntervalMs: 5000, degraded: { rttMs: 300, lossPct: 5, jitterMs: 50 } });
  });

  it('overrides the named settings of a class and keeps the rest', () => {
    const { config } = parseGatewayConfig(MINIMAL + 'classes: { bulk: { maxQueueMs: 30000, degradedShare: 0.1 } }\n', '/x/s.yaml', {});
    expect(config.classes.bulk).toEqual({ priority: 3, maxQueueMs: 30000, degradedShare: 0.1 });
    expect(config.classes.critical).toEqual({ priority: 0, maxQueueMs: 200, degradedShare: 1 });
  });

  it('resolves file paths relative to the config file', () => {
    const text = MINIMAL.replace('admin: { port: 9080 }', 'admin: { port: 9080, tokenFile: secrets/admin.token }') + 'buffer: { path: /var/lib/j.db }\n';
    const { config } = parseGatewayConfig(text, '/etc/storegw/store.yaml', {});
    expect(config.gateway.admin.tokenFile).toBe('/etc/storegw/secrets/admin.token');
    expect(config.buffer.path).toBe('/var/lib/j.db');
  });

  it('substitutes ${ENV} with types and defaults', () => {
    const text = MINIMAL.replace('port: 8080', 'port: "${PORT}"').replace('http://10.60.0.1', 'http://${INGRESS}:${INGRESS_PORT:-8000}/erp');
    const { config } = parseGatewayConfig(text, '/x/s.yaml', { PORT: '8181', INGRESS: '10.9.0.1' });
    expect(config.gateway.listen.port).toBe(8181);
    expect(config.paths[0]?.baseUrl).toBe('http://10.9.0.1:8000/erp');
  });

  it('names a missing variable with its path and line', () => {
    expect(problems(MINIMAL.replace('http://10.60.0.1', '${INGRESS_URL}'))).toEqual([
      '/etc/storegw/store.yaml:paths[0].baseUrl: environment variable INGRESS_URL is not set (line 9)',
    ]);
  });

  it('cannot be reshaped by a variable value', () => {
    const { config } = parseGatewayConfig(MINIMAL.replace('region: eu', 'region: "${R}"'), '/x/s.yaml', { R: 'eu\nextra: [1]' });
    expect(config.store.region).toBe('eu\nextra: [1]');
  });

  it.each<[string, string, string]>([
    ['unknown key', MINIMAL.replace('region: eu', 'region: eu, regoin: x'), 'store.regoin: is not a known key (misspelt?) (line 3)'],
    ['missing key', MINIMAL.replace('store: { id: store-1, region: eu }', 'store: { id: store-1 }'), 'store.region: is required (line 3)'],
    ['bad enum', MINIMAL.replace('class: normal', 'class: urgent'), 'routes[0].class: must be one of: critical, interactive, normal, bulk (line 13)'],
    ['wrong type', MINIMAL.replace('port: 8080', 'port: eighty'), 'gateway.listen.port: must be integer (line 5)'],
    ['bad size', MINIMAL + 'buffer: { maxBytes: 1 gigabyte }\n', 'buffer.maxBytes: has an invalid format'],
    ['an expiry warning that is no fraction of the max age', MINIMAL + 'buffer: { expiryWarnings: [0.5, 1] }\n', 'buffer.expiryWarnings[1]: must be < 1'],
    ['the same expiry warning twice', MINIMAL + 'buffer: { expiryWarnings: [0.5, 0.5] }\n', 'buffer.expiryWarnings: must NOT have duplicate items'],
    ['negative hold-down', MINIMAL + 'link: { upHoldDownMs: -1 }\n', 'link.upHoldDownMs: must be >= 0'],
    ['bad URL scheme', MINIMAL.replace('http://10.60.0.1', 'ftp://10.60.0.1'), 'paths[0].baseUrl: must be an http:// or https:// URL (line 9)'],
    ['URL with a query', MINIMAL.replace('http://10.60.0.1', 'http://10.60.0.1/?a=1'), 'paths[0].baseUrl: must not have a ?query'],
    ['bad CIDR', MINIMAL.replace('admin: { port: 9080 }', 'admin: { port: 9080 }\n  devices: { allowCidrs: [192.168.1.0/33] }'), 'gateway.devices.allowCidrs[0]: "192.168.1.0/33" is not an IP address or CIDR range'],
    ['duplicate path', MINIMAL.replace('paths:', 'paths:\n  - { name: fiber, baseUrl: "http://a" }'), 'paths[1].name: duplicate path name "fiber"'],
    ['class no path carries', MINIMAL.replace('baseUrl: http://10.60.0.1', 'baseUrl: http://10.60.0.1\n    allowClasses: [critical]'), 'routes[0].class: no path allows class "normal"'],
    ['bad JSON path', MINIMAL.replace('class: normal', 'class: normal\n    idempotencyKey: { jsonPath: "params..x" }'), 'routes[0].idempotencyKey.jsonPath: invalid JSON path'],
    ['all slots reserved for critical on a path other classes use', MINIMAL.replace('baseUrl: http://10.60.0.1', 'baseUrl: http://10.60.0.1\n    maxInFlight: 2\n    reservedCritical: 2'), 'paths[0].reservedCritical: must be below maxInFlight (2)'],
    ['a fast probe cadence slower than the steady one', MINIMAL.replace('baseUrl: http://10.60.0.1', 'baseUrl: http://10.60.0.1\n    probe: { url: http://10.60.0.1/ping, intervalMs: 500, fastIntervalMs: 600 }'), 'paths[0].probe.fastIntervalMs: must not exceed intervalMs (500)'],
    ['wrong version', MINIMAL.replace('version: 1', 'version: 2'), '(root).version: must be 1'.replace('(root).', '')],
    ['YAML syntax', 'version: 1\nstore: { id: x\n', 'YAML:'],
    ['duplicate YAML key', MINIMAL + 'version: 1\n', 'YAML: Map keys must be unique'],
  ])('reports %s', (_name, text, expected) => {
    const out = problems(text);
    expect(out.some((line) => line.startsWith('/etc/storegw/store.yaml:') && line.includes(expected)), out.join('\n')).toBe(true);
  });

  it('reports every problem at once', () => {
    const out = problems(MINIMAL.replace('region: eu', 'region: eu, x: 1').replace('class: normal', 'class: nope'));
    expect(out).toHaveLength(2);
  });

  it('gives a version that changes with the text', () => {
    const a = parseGatewayConfig(MINIMAL, '/x/s.yaml', {}).version;
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(parseGatewayConfig(MINIMAL + '# changed\n', '/x/s.yaml', {}).version).not.toBe(a);
  });
});

describe('published JSON Schema', () => {
  it('edge-config/storegw.schema.json is current (regenerate: storegw config schema > edge-config/storegw.schema.json)', () => {
    expect(readFileSync(here('./storegw.schema.json'), 'utf8')).toBe(JSON.stringify(gatewayJsonSchema(), null, 2) + '\n');
  });
});
