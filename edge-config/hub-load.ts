// Loading the hub's configuration the way the gateway's is loaded: YAML →
// ${ENV} → schema (with defaults) → cross-field checks → resolved values, every
// problem reported at once as FILE:path: message (line N). Token files are
// only named here; the hub reads them when it starts.
import { basename, dirname, extname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import type { ConfigProblem } from './errors.js';
import { HubConfigSchema, type HubConfig, type HubConfigInput } from './hub-schema.js';
import { parseSize, sizeProblem } from './units.js';
import { parseConfigDocument, readConfigText } from './yaml-document.js';

export interface LoadedHubConfig {
  config: HubConfig;
  file: string;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, allowUnionTypes: true, strict: true });
const validateSchema = ajv.compile<HubConfigInput>(HubConfigSchema);

const tokenName = (t: { tokenFile: string; name?: string | undefined }) => t.name ?? basename(t.tokenFile, extname(t.tokenFile));

function semanticProblems(c: HubConfigInput): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (c.store.rawRetentionHours > c.store.telemetryRetentionHours) {
    problems.push({ path: ['store', 'rawRetentionHours'], message: `must not exceed telemetryRetentionHours (${c.store.telemetryRetentionHours})` });
  }
  // The command log says who sent what by this name, so two tokens may not share one.
  const names = new Set<string>();
  c.auth.opsTokens.forEach((t, i) => {
    const name = tokenName(t);
    if (names.has(name)) problems.push({ path: ['auth', 'opsTokens', i, t.name === undefined ? 'tokenFile' : 'name'], message: `duplicate token name "${name}" (set name: to tell them apart)` });
    names.add(name);
  });
  problems.push(...storeProblems(c.store));
  const size = sizeProblem(c.connections.maxBufferedBytes);
  if (size) problems.push({ path: ['connections', 'maxBufferedBytes'], message: size });
  return problems;
}

/** One database: the SQLite file or PostgreSQL; a PostgreSQL URL without its password (it would show wherever the config does). */
function storeProblems(s: HubConfigInput['store']): ConfigProblem[] {
  if (s.postgres === undefined) return [];
  if (s.path !== undefined) return [{ path: ['store', 'path'], message: 'give path (SQLite) or postgres, not both' }];
  const pg = s.postgres;
  if (pg.url === undefined) return [];
  if (pg.host !== undefined || pg.port !== undefined || pg.database !== undefined || pg.user !== undefined) {
    return [{ path: ['store', 'postgres', 'url'], message: 'give url or host/port/database/user, not both' }];
  }
  let url: URL;
  try {
    url = new URL(pg.url);
  } catch {
    return [{ path: ['store', 'postgres', 'url'], message: 'is not a URL' }];
  }
  return url.password === '' ? [] : [{ path: ['store', 'postgres', 'url'], message: 'holds a password: put it in passwordFile instead' }];
}

function resolveConfig(input: HubConfigInput, baseDir: string): HubConfig {
  const abs = (p: string) => resolve(baseDir, p);
  const { $schema: _schema, ...rest } = input;
  const { path, postgres, ...store } = input.store;
  return {
    ...rest,
    store: {
      ...store,
      database:
        postgres === undefined
          ? { sqlite: { path: abs(path ?? './data/hub.db') } }
          : { postgres: { ...postgres, ...(postgres.passwordFile !== undefined && { passwordFile: abs(postgres.passwordFile) }) } },
    },
    auth: {
      gatewayTokensFile: abs(input.auth.gatewayTokensFile),
      opsTokens: input.auth.opsTokens.map((t) => ({ tokenFile: abs(t.tokenFile), role: t.role, name: tokenName(t) })),
    },
    connections: { ...input.connections, maxBufferedBytes: parseSize(input.connections.maxBufferedBytes) },
  };
}

/** Parses and validates a hub configuration document. Throws ConfigError listing every problem. */
export function parseHubConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedHubConfig {
  const data = parseConfigDocument(text, file, env, validateSchema, semanticProblems);
  return { config: resolveConfig(data, dirname(resolve(file))), file: resolve(file) };
}

export function loadHubConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedHubConfig {
  return parseHubConfig(readConfigText(file), file, env);
}
