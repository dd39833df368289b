import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { parseHubConfig } from './hub-load.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const MINIMAL = `
version: 1
listen: { port: 7070 }
auth:
  gatewayTokensFile: tokens.yaml
  opsTokens: [ { tokenFile: secrets/ops.token, role: operator } ]
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseHubConfig(text, '/etc/storegw/hub.yaml', env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message.split('\n');
  }
  throw new Error('expected the configuration to be refused');
}

describe('hub configuration loading', () => {
  it('takes the example', () => {
    const file = here('./examples/hub/hub.yaml');
    const { config } = parseHubConfig(readFileSync(file, 'utf8'), file, {});
    expect(config.auth.opsTokens.map((t) => [t.name, t.role])).toEqual([
      ['ops', 'operator'],
      ['viewer', 'viewer'],
    ]);
  });

  it('applies defaults and resolves paths relative to the file', () => {
    const { config } = parseHubConfig(MINIMAL, '/etc/storegw/hub.yaml', {});
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 7070 });
    expect(config.store).toEqual({ database: { sqlite: { path: '/etc/storegw/data/hub.db' } }, telemetryRetentionHours: 720, rawRetentionHours: 24, housekeepingIntervalMs: 300_000, flushIntervalMs: 1000 });
    expect(config.auth).toEqual({ gatewayTokensFile: '/etc/storegw/tokens.yaml', opsTokens: [{ tokenFile: '/etc/storegw/secrets/ops.token', role: 'operator', name: 'ops' }] });
    expect(config.connections).toEqual({ heartbeatIntervalMs: 15_000, helloTimeoutMs: 10_000, maxBufferedBytes: 2 ** 20, rateLimit: { messagesPerSec: 100, burst: 500, closeAfterRejects: 500 } });
    expect(config.commands).toEqual({ timeoutMs: 10_000, configApplyTimeoutMs: 120_000, maxInFlightPerGateway: 16 });
    expect(config.rollouts).toEqual({ concurrency: 50 });
  });

  it('takes region drain budgets, none by default', () => {
    expect(parseHubConfig(MINIMAL, '/x/hub.yaml', {}).config).toMatchObject({ regions: {}, drain: { grantLeaseMs: 30_000 } });
    const { config } = parseHubConfig(MINIMAL + 'regions:\n  eu-north: { drainBudgetPerSec: 400 }\ndrain: { grantLeaseMs: 10000 }\n', '/x/hub.yaml', {});
    expect(config.regions).toEqual({ 'eu-north': { drainBudgetPerSec: 400 } });
    expect(config.drain).toEqual({ grantLeaseMs: 10_000 });
  });

  it('takes PostgreSQL instead of the SQLite file, its password file resolved like the other files', () => {
    const { config } = parseHubConfig(MINIMAL + 'store: { postgres: { host: db.internal, database: hub, user: storegw, passwordFile: secrets/db.password } }\n', '/etc/storegw/hub.yaml', {});
    expect(config.store.database).toEqual({ postgres: { host: 'db.internal', database: 'hub', user: 'storegw', passwordFile: '/etc/storegw/secrets/db.password', connectTimeoutMs: 5000 } });
    const url = parseHubConfig(MINIMAL + 'store: { postgres: { url: "postgres://storegw@db.internal:5433/hub" } }\n', '/etc/storegw/hub.yaml', {});
    expect(url.config.store.database).toEqual({ postgres: { url: 'postgres://storegw@db.internal:5433/hub', connectTimeoutMs: 5000 } });
  });

  it('substitutes ${ENV}', () => {
    const { config } = parseHubConfig(MINIMAL.replace('port: 7070', 'port: "${HUB_PORT}"'), '/x/hub.yaml', { HUB_PORT: '7171' });
    expect(config.listen.port).toBe(7171);
  });

  it.each<[string, string, string]>([
    ['unknown key', MINIMAL.replace('listen: { port: 7070 }', 'listen: { port: 7070, hots: x }'), 'listen.hots: is not a known key (misspelt?) (line 3)'],
    ['bad role', MINIMAL.replace('role: operator', 'role: admin'), 'auth.opsTokens[0].role: must be one of: operator, viewer (line 6)'],
    ['no ops token', MINIMAL.replace('[ { tokenFile: secrets/ops.token, role: operator } ]', '[]'), 'auth.opsTokens: must NOT have fewer than 1 items'],
    ['missing tokens file', MINIMAL.replace('gatewayTokensFile: tokens.yaml', ''), 'auth.gatewayTokensFile: is required'],
    ['raw kept longer than everything', MINIMAL + 'store: { telemetryRetentionHours: 12 }\n', 'store.rawRetentionHours: must not exceed telemetryRetentionHours (12)'],
    ['SQLite and PostgreSQL at once', MINIMAL + 'store: { path: hub.db, postgres: { host: db } }\n', 'store.path: give path (SQLite) or postgres, not both'],
    ['a password in the URL', MINIMAL + 'store: { postgres: { url: "postgres://storegw:hunter2@db/hub" } }\n', 'store.postgres.url: holds a password: put it in passwordFile instead'],
    ['a URL and a host', MINIMAL + 'store: { postgres: { url: "postgres://db/hub", host: db } }\n', 'store.postgres.url: give url or host/port/database/user, not both'],
    [
      'two tokens of one name',
      MINIMAL.replace('role: operator }', 'role: operator }, { tokenFile: other/ops.token, role: viewer }'),
      'auth.opsTokens[1].tokenFile: duplicate token name "ops"',
    ],
    ['bad size', MINIMAL + 'connections: { maxBufferedBytes: lots }\n', 'connections.maxBufferedBytes: has an invalid format'],
    ['missing variable', MINIMAL.replace('port: 7070', 'port: "${HUB_PORT}"'), 'listen.port: environment variable HUB_PORT is not set (line 3)'],
    ['a budget of nothing', MINIMAL + 'regions: { eu-north: { drainBudgetPerSec: 0 } }\n', 'regions.eu-north.drainBudgetPerSec: must be > 0'],
    ['a misspelt region key', MINIMAL + 'regions: { eu-north: { drainBudget: 10 } }\n', 'regions.eu-north.drainBudget: is not a known key'],
    ['a region name too long', MINIMAL + `regions: { ${'r'.repeat(65)}: { drainBudgetPerSec: 10 } }\n`, `regions.${'r'.repeat(65)}: is not a known key`],
    ['a lease too short', MINIMAL + 'drain: { grantLeaseMs: 10 }\n', 'drain.grantLeaseMs: must be >= 1000'],
    ['YAML syntax', 'version: 1\nlisten: { port: 1\n', 'YAML:'],
  ])('reports %s', (_name, text, expected) => {
    const out = problems(text);
    expect(out.some((line) => line.startsWith('/etc/storegw/hub.yaml:') && line.includes(expected)), out.join('\n')).toBe(true);
  });
});
