// Loading a gateway configuration: YAML → ${ENV} → schema (with defaults) →
// cross-field checks → resolved values. Every problem found is reported at
// once, each as FILE:path: message (line N).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { substituteEnv, type EnvProblem } from './env.js';
import { ajvProblems, ConfigError, type ConfigProblem } from './errors.js';
import { CLASS_NAMES, DEFAULT_CLASSES, GatewayConfigSchema, type GatewayConfig, type GatewayConfigInput } from './schema.js';
import { parseSize } from './units.js';
import { semanticProblems } from './validate.js';

export interface LoadedConfig {
  config: GatewayConfig;
  /** Identifies the document: the first 12 hex digits of the SHA-256 of its text. */
  version: string;
  file: string;
  /** The document's text, as read; the fleet agent keeps it to roll back to. */
  text: string;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, allowUnionTypes: true, strict: true });
const validateSchema = ajv.compile<GatewayConfigInput>(GatewayConfigSchema);

function lineOf(doc: Document, counter: LineCounter, path: (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

function resolveConfig(input: GatewayConfigInput, baseDir: string): GatewayConfig {
  const abs = (p: string) => resolve(baseDir, p);
  const { $schema: _schema, fleet, ...rest } = input;
  return {
    ...rest,
    gateway: {
      ...input.gateway,
      admin: { ...input.gateway.admin, ...(input.gateway.admin.tokenFile !== undefined && { tokenFile: abs(input.gateway.admin.tokenFile) }) },
      ...(input.gateway.devices && {
        devices: { ...input.gateway.devices, ...(input.gateway.devices.tokensFile !== undefined && { tokensFile: abs(input.gateway.devices.tokensFile) }) },
      }),
      limits: {
        maxBodyBytes: parseSize(input.gateway.limits.maxBodyBytes),
        maxJsonRpcBodyBytes: parseSize(input.gateway.limits.maxJsonRpcBodyBytes),
      },
    },
    buffer: { ...input.buffer, path: abs(input.buffer.path), maxBytes: parseSize(input.buffer.maxBytes) },
    cache: { ...input.cache, path: abs(input.cache.path), maxBytes: parseSize(input.cache.maxBytes) },
    // A class given in the file overrides only the settings it names.
    classes: Object.fromEntries(CLASS_NAMES.map((c) => [c, { ...DEFAULT_CLASSES[c], ...input.classes[c] }])) as GatewayConfig['classes'],
    ...(fleet && { fleet: { ...fleet, tokenFile: abs(fleet.tokenFile), spoolPath: abs(fleet.spoolPath), spoolMaxBytes: parseSize(fleet.spoolMaxBytes) } }),
  };
}

/** Parses and validates a configuration document. Throws ConfigError listing every problem. */
export function parseGatewayConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      // One syntax error tends to cascade into dozens; the first few locate it.
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

  return {
    config: resolveConfig(data, dirname(resolve(file))),
    version: createHash('sha256').update(text).digest('hex').slice(0, 12),
    file: resolve(file),
    text,
  };
}

export function loadGatewayConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ path: [], message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  return parseGatewayConfig(text, file, env);
}
