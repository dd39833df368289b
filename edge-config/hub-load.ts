// Loading the hub's configuration the way the gateway's is loaded: YAML →
// ${ENV} → schema (with defaults) → cross-field checks → resolved values, every
// problem reported at once as FILE:path: message (line N). Token files are
// only named here; the hub reads them when it starts.
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { substituteEnv, type EnvProblem } from './env.js';
import { ajvProblems, ConfigError, type ConfigProblem } from './errors.js';
import { HubConfigSchema, type HubConfig, type HubConfigInput } from './hub-schema.js';
import { parseSize, sizeProblem } from './units.js';

export interface LoadedHubConfig {
  config: HubConfig;
  file: string;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, allowUnionTypes: true, strict: true });
const validateSchema = ajv.compile<HubConfigInput>(HubConfigSchema);

function lineOf(doc: Document, counter: LineCounter, path: (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

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
  const size = sizeProblem(c.connections.maxBufferedBytes);
  if (size) problems.push({ path: ['connections', 'maxBufferedBytes'], message: size });
  return problems;
}

function resolveConfig(input: HubConfigInput, baseDir: string): HubConfig {
  const abs = (p: string) => resolve(baseDir, p);
  const { $schema: _schema, ...rest } = input;
  return {
    ...rest,
    store: { ...input.store, path: abs(input.store.path) },
    auth: {
      gatewayTokensFile: abs(input.auth.gatewayTokensFile),
      opsTokens: input.auth.opsTokens.map((t) => ({ tokenFile: abs(t.tokenFile), role: t.role, name: tokenName(t) })),
    },
    connections: { ...input.connections, maxBufferedBytes: parseSize(input.connections.maxBufferedBytes) },
  };
}

/** Parses and validates a hub configuration document. Throws ConfigError listing every problem. */
export function parseHubConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedHubConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.slice(0, 3).map((e) => ({ path: [], message: `YAML: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`, line: e.linePos?.[0].line })),
    );
  }
  const envProblems: EnvProblem[] = [];
  let js: unknown;
  try {
    js = doc.toJS();
  } catch (e) {
    // yaml refuses alias expansions that would blow up (a "billion laughs" document).
    throw new ConfigError(file, [{ path: [], message: `YAML: ${((e as Error).message.split('\n')[0] ?? '')}` }]);
  }
  const data = substituteEnv(js, env, envProblems);
  const withLines = (ps: ConfigProblem[]) => ps.map((p) => ({ ...p, line: p.line ?? lineOf(doc, counter, p.path) }));
  if (envProblems.length > 0) throw new ConfigError(file, withLines(envProblems));
  if (!validateSchema(data)) throw new ConfigError(file, withLines(ajvProblems(validateSchema.errors ?? [])));
  const semantic = semanticProblems(data);
  if (semantic.length > 0) throw new ConfigError(file, withLines(semantic));
  return { config: resolveConfig(data, dirname(resolve(file))), file: resolve(file) };
}

export function loadHubConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedHubConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ path: [], message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  return parseHubConfig(text, file, env);
}
