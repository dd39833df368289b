// Cross-field checks that JSON Schema cannot express. Pure: returns problems.
import ipaddr from 'ipaddr.js';
import { parseBatchPath, parseJsonPath } from './json-path.js';
import { compilePathPattern } from './path-pattern.js';
import type { ConfigProblem } from './errors.js';
import type { GatewayConfigInput } from './schema.js';
import { sizeProblem } from './units.js';

function httpUrlProblem(text: string, allowPath: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (url.username || url.password) return 'must not hold credentials';
  if (url.hash) return 'must not have a #fragment';
  if (!allowPath && url.search) return 'must not have a ?query';
  return undefined;
}

function duplicates(names: string[]): Set<string> {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) (seen.has(n) ? dup : seen).add(n);
  return dup;
}

export function semanticProblems(c: GatewayConfigInput): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: (string | number)[], message: string) => problems.push({ path, message });

  c.gateway.devices?.allowCidrs?.forEach((cidr, i) => {
    if (!ipaddr.isValid(cidr) && !isCidr(cidr)) add(['gateway', 'devices', 'allowCidrs', i], `"${cidr}" is not an IP address or CIDR range`);
  });

  const dupPaths = duplicates(c.paths.map((p) => p.name));
  c.paths.forEach((p, i) => {
    if (dupPaths.has(p.name)) add(['paths', i, 'name'], `duplicate path name "${p.name}"`);
    const urlProblem = httpUrlProblem(p.baseUrl, false);
    if (urlProblem) add(['paths', i, 'baseUrl'], urlProblem);
    if (p.reservedCritical !== undefined && p.reservedCritical >= p.maxInFlight && p.allowClasses.some((c) => c !== 'critical'))
      add(['paths', i, 'reservedCritical'], `must be below maxInFlight (${p.maxInFlight}), or no other class could use the path`);
    if (p.localAddress !== undefined && !ipaddr.isValid(p.localAddress)) add(['paths', i, 'localAddress'], `"${p.localAddress}" is not an IP address`);
    if (p.probe) {
      const probeProblem = httpUrlProblem(p.probe.url, true);
      if (probeProblem) add(['paths', i, 'probe', 'url'], probeProblem);
      // Probes overlap by design (a fast cadence while one is overdue), so a timeout may exceed the interval.
      if (p.probe.fastIntervalMs > p.probe.intervalMs) add(['paths', i, 'probe', 'fastIntervalMs'], `must not exceed intervalMs (${p.probe.intervalMs})`);
    }
  });

  const dupRoutes = duplicates(c.routes.map((r) => r.name));
  const carried = new Set(c.paths.flatMap((p) => p.allowClasses));
  c.routes.forEach((r, i) => {
    if (dupRoutes.has(r.name)) add(['routes', i, 'name'], `duplicate route name "${r.name}"`);
    if (r.match.path !== undefined) {
      try {
        compilePathPattern(r.match.path);
      } catch (e) {
        add(['routes', i, 'match', 'path'], (e as Error).message);
      }
    }
    if (r.idempotencyKey && 'jsonPath' in r.idempotencyKey) {
      const text = r.idempotencyKey.jsonPath;
      try {
        if (!parseBatchPath(text)) parseJsonPath(text);
      } catch (e) {
        add(['routes', i, 'idempotencyKey', 'jsonPath'], (e as Error).message);
      }
    }
    bufferProblems(r, (path, message) => add(['routes', i, ...path], message));
    if (!carried.has(r.class)) add(['routes', i, 'class'], `no path allows class "${r.class}" (see paths[].allowClasses)`);
  });

  // Both are relative to the same file: the same text is the same file.
  if (c.buffer.backup && c.buffer.backup.path === c.buffer.path) add(['buffer', 'backup', 'path'], 'must not be the journal itself (buffer.path): a backup belongs on another disk');

  if (c.replay.backoff.baseMs > c.replay.backoff.maxMs) add(['replay', 'backoff', 'baseMs'], `must not exceed maxMs (${c.replay.backoff.maxMs})`);

  // The schema takes any integer or size text; the loader needs a byte count a Number holds exactly.
  const sizes: [(string | number)[], number | string | undefined][] = [
    [['gateway', 'limits', 'maxBodyBytes'], c.gateway.limits.maxBodyBytes],
    [['gateway', 'limits', 'maxJsonRpcBodyBytes'], c.gateway.limits.maxJsonRpcBodyBytes],
    [['buffer', 'maxBytes'], c.buffer.maxBytes],
    [['cache', 'maxBytes'], c.cache.maxBytes],
    [['fleet', 'spoolMaxBytes'], c.fleet?.spoolMaxBytes],
  ];
  for (const [path, value] of sizes) {
    const problem = value === undefined ? undefined : sizeProblem(value);
    if (problem) add(path, problem);
  }
  return problems;
}

type Route = GatewayConfigInput['routes'][number];

/** A buffer route must say where its key comes from and how the ERP dedupes; the answer must be one its client reads right. */
function bufferProblems(r: Route, add: (path: string[], message: string) => void): void {
  if (r.websocket && (r.mode !== 'passthrough' || r.match.jsonrpc !== undefined))
    add(['websocket'], 'WebSocket upgrades pass only on a passthrough route matched by method, path or host');
  if (r.mode !== 'buffer') {
    for (const field of ['dedupe', 'check'] as const) if (r[field] !== undefined) add([field], `only a buffer route has ${field}`);
    return;
  }
  if (!r.idempotencyKey)
    add(['idempotencyKey'], 'a buffer route needs a key: { header: Idempotency-Key }, { jsonPath: ... } or, knowing that a re-sent write then makes a second entry, { generate: true }');
  if (!r.dedupe) add(['dedupe'], 'a buffer route must say how the ERP dedupes a replayed write: key (it honours Idempotency-Key), natural (it dedupes by the key taken from the body) or none');
  if (r.dedupe === 'natural' && !(r.idempotencyKey && 'jsonPath' in r.idempotencyKey))
    add(['dedupe'], 'natural dedupe means the ERP dedupes by a value of the body: the key must come from that value (idempotencyKey.jsonPath)');
  if (r.check !== undefined && r.dedupe !== 'none') add(['check'], 'a read-back check settles ambiguous attempts, which only dedupe: none routes have');
  r.check?.domain.forEach((term, t) => {
    const refs = Array.isArray(term) ? term.filter((v): v is string => typeof v === 'string' && v.startsWith('$.')) : [];
    for (const ref of refs) {
      try {
        parseJsonPath(ref);
      } catch (e) {
        add(['check', 'domain', String(t)], (e as Error).message);
      }
    }
  });
}

/**
 * Settings that are valid but hurt the people behind the tills: said at
 * validation and at every start and reload, the configuration still loads (a
 * gateway-aware till app may read receipts).
 */
export function semanticWarnings(c: Pick<GatewayConfigInput, 'routes'>): string[] {
  return c.routes.flatMap((r, i) =>
    // The Odoo web client takes any JSON without `error` as success: a 202
    // receipt makes Odoo 17 revert a paid order to unpaid (ODOO-POS.md).
    r.mode === 'buffer' && r.match.jsonrpc?.model === 'pos.order' && r.heldAnswer === 'receipt'
      ? [`routes[${i}] (${r.name}): the Odoo POS reads a 202 receipt as an empty success (17 reverts the paid order to unpaid, 16 drops it): use heldAnswer: offline, or odoo-list (16/17) / odoo-dict (18/19), unless the tills are gateway-aware`]
      : [],
  );
}

function isCidr(text: string): boolean {
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return false;
  }
}
