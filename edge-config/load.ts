// Loading a gateway configuration: YAML → ${ENV} → schema (with defaults) →
// cross-field checks → resolved values. Every problem found is reported at
// once, each as FILE:path: message (line N).
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { CLASS_NAMES, DEFAULT_CLASSES, GatewayConfigSchema, type GatewayConfig, type GatewayConfigInput } from './schema.js';
import { parseSize } from './units.js';
import { semanticProblems, semanticWarnings } from './validate.js';
import { parseConfigDocument, readConfigText } from './yaml-document.js';

export interface LoadedConfig {
  config: GatewayConfig;
  /** Identifies the document: the first 12 hex digits of the SHA-256 of its text. */
  version: string;
  file: string;
  /** The document's text, as read; the fleet agent keeps it to roll back to. */
  text: string;
  /** Valid settings that are likely a mistake (see semanticWarnings): said, not refused. */
  warnings: string[];
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, allowUnionTypes: true, strict: true });
const validateSchema = ajv.compile<GatewayConfigInput>(GatewayConfigSchema);

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
        ...input.gateway.limits,
        maxBodyBytes: parseSize(input.gateway.limits.maxBodyBytes),
        maxJsonRpcBodyBytes: parseSize(input.gateway.limits.maxJsonRpcBodyBytes),
      },
    },
    buffer: {
      ...input.buffer,
      path: abs(input.buffer.path),
      maxBytes: parseSize(input.buffer.maxBytes),
      ...(input.buffer.backup && { backup: { ...input.buffer.backup, path: abs(input.buffer.backup.path) } }),
    },
    cache: { ...input.cache, path: abs(input.cache.path), maxBytes: parseSize(input.cache.maxBytes) },
    // A class given in the file overrides only the settings it names.
    classes: Object.fromEntries(CLASS_NAMES.map((c) => [c, { ...DEFAULT_CLASSES[c], ...input.classes[c] }])) as GatewayConfig['classes'],
    ...(fleet && { fleet: { ...fleet, tokenFile: abs(fleet.tokenFile), spoolPath: abs(fleet.spoolPath), spoolMaxBytes: parseSize(fleet.spoolMaxBytes) } }),
  };
}

/** Parses and validates a configuration document. Throws ConfigError listing every problem. */
export function parseGatewayConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const data = parseConfigDocument(text, file, env, validateSchema, semanticProblems);
  return {
    config: resolveConfig(data, dirname(resolve(file))),
    version: createHash('sha256').update(text).digest('hex').slice(0, 12),
    file: resolve(file),
    text,
    warnings: semanticWarnings(data),
  };
}

export function loadGatewayConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  return parseGatewayConfig(readConfigText(file), file, env);
}
