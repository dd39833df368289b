// Who may talk to the hub: gateways by their token (the tokens file maps each
// gateway id to its token or the token's sha256), ops people and scripts by
// bearer tokens with a role. Pure apart from loadHubAuth, which reads the files.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { OpsRole, OpsTokenConfig } from '../../../edge-config/hub-schema.js';
import { readSecretFile } from '../../util/secret-file.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A gateway id as the gateway config allows it for store.id. */
const GATEWAY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface GatewayIdentity {
  id: string;
  /** Identifies the token (not the secret): a reload that changes or removes it ends the connection. */
  digest: string;
}

export interface OpsIdentity {
  name: string;
  role: OpsRole;
}

/** Parses a gateway tokens file: YAML mapping gateway id -> token or "sha256:<hex>". Errors name ids, never tokens. */
export function parseGatewayTokens(text: string): Map<string, string> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('must be a mapping of gateway id to token');
  const byDigest = new Map<string, string>();
  for (const [id, token] of Object.entries(doc as Record<string, unknown>)) {
    if (!GATEWAY_ID.test(id)) throw new Error(`"${id}" is not a valid gateway id (a store.id)`);
    if (typeof token !== 'string') throw new Error(`${id}: the token must be a string`);
    let digest: string;
    if (token.startsWith('sha256:')) {
      digest = token.slice(7).toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`${id}: a sha256 digest is 64 hex digits`);
    } else {
      if (token.length < 16) throw new Error(`${id}: the token must be at least 16 characters`);
      digest = sha256(token);
    }
    const other = byDigest.get(digest);
    if (other !== undefined) throw new Error(`${id}: has the same token as ${other}; each gateway needs its own`);
    byDigest.set(digest, id);
  }
  return byDigest;
}

function bearer(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

export class HubAuth {
  readonly #gateways: Map<string, string>;
  readonly #ids: Set<string>;
  readonly #ops: { digest: Buffer; identity: OpsIdentity }[];

  constructor(gatewayTokens: Map<string, string>, opsTokens: { token: string; name: string; role: OpsRole }[]) {
    this.#gateways = gatewayTokens;
    this.#ids = new Set(gatewayTokens.values());
    this.#ops = opsTokens.map((t) => ({ digest: createHash('sha256').update(t.token).digest(), identity: { name: t.name, role: t.role } }));
  }

  /** The gateway an upgrade request's Authorization header belongs to. */
  gateway(header: string | undefined): GatewayIdentity | undefined {
    const token = bearer(header);
    if (token === undefined) return undefined;
    // A lookup by the token's digest: the secret itself is never compared byte by
    // byte, and a map stays cheap with thousands of gateways reconnecting at once.
    const digest = sha256(token);
    const id = this.#gateways.get(digest);
    return id === undefined ? undefined : { id, digest };
  }

  /** True while `identity` still holds (after a reload of the tokens file). */
  stillValid(identity: GatewayIdentity): boolean {
    return this.#gateways.get(identity.digest) === identity.id;
  }

  /** Whether a gateway id is provisioned (in the tokens file), connected or not. */
  knows(gatewayId: string): boolean {
    return this.#ids.has(gatewayId);
  }

  /** The ops identity of an Authorization header. Every configured token is compared, in constant time. */
  ops(header: string | undefined): OpsIdentity | undefined {
    const presented = createHash('sha256').update(bearer(header) ?? '').digest();
    let found: OpsIdentity | undefined;
    // No early exit: how long this takes does not say which token (if any) matched.
    for (const t of this.#ops) if (timingSafeEqual(presented, t.digest) && found === undefined) found = t.identity;
    return found;
  }
}

/** What a role may do: a viewer reads, an operator also changes. */
export function roleAllows(role: OpsRole, method: string): boolean {
  return role === 'operator' || method === 'GET' || method === 'HEAD';
}

export interface LoadedAuth {
  auth: HubAuth;
  /** Files readable by group or others: said at startup, never the content. */
  warnings: string[];
}

/** Reads the tokens file and the ops token files. Throws naming the file, never a secret. */
export function loadHubAuth(gatewayTokensFile: string, opsTokens: OpsTokenConfig[]): LoadedAuth {
  const warnings: string[] = [];
  let gateways: Map<string, string>;
  try {
    gateways = parseGatewayTokens(readFileSync(gatewayTokensFile, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${gatewayTokensFile}: ${code ? `cannot read (${code})` : (e as Error).message}`);
  }
  const mode = statSync(gatewayTokensFile).mode;
  if ((mode & 0o077) !== 0) warnings.push(`${gatewayTokensFile} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  const ops = opsTokens.map((t) => {
    const secret = readSecretFile(t.tokenFile);
    if (secret.warning) warnings.push(secret.warning);
    return { token: secret.value, name: t.name, role: t.role };
  });
  return { auth: new HubAuth(gateways, ops), warnings };
}
