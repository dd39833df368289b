// storegw fleet ls | show ID | send (ID | --region R | --tag T) COMMAND [--args JSON]:
// the ops API of a fleet hub from a shell. The hub and the token come from
// --hub / --token-file or STOREGW_HUB_URL / STOREGW_HUB_TOKEN_FILE.
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { readSecretFile } from '../util/secret-file.js';
import { renderStatus } from './status-cmd.js';
import { UsageError } from './usage.js';

interface Hub {
  url: string;
  tokenFile: string;
}

export class HubError extends Error {}

async function hubCall(hub: Hub, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { authorization: `Bearer ${readSecretFile(hub.tokenFile).value}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    // Commands wait for the gateways' answers on the hub side; the hub's own timeout ends them.
    res = await request(new URL(path, hub.url), { method, headers, body: body === undefined ? null : JSON.stringify(body), headersTimeout: 300_000, bodyTimeout: 300_000 });
  } catch (e) {
    throw new HubError(`cannot reach the hub at ${hub.url}: ${(e as Error).message}`);
  }
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  if (res.statusCode >= 400) {
    const p = parsed as { message?: string; error?: string; problems?: string[] };
    const detail = p.message ?? p.error ?? text;
    throw new HubError(`${hub.url} answered ${res.statusCode}${res.statusCode === 401 ? ' (check --token-file)' : ''}: ${detail}`);
  }
  return parsed;
}

interface ListItem {
  id: string;
  region: string;
  state: string;
  lastSeen: number;
  paths: { name: string; state: string }[];
  /** maxAgeS, expiryWarning: null from a gateway that does not report them, expiryWarning also while none stands. */
  queue: { pending: number; dead: number; oldestAgeS: number; maxAgeS?: number | null; expiryWarning?: number | null } | null;
  configVersion: string;
  desiredConfigVersion: string | null;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : s < 172_800 ? `${Math.round(s / 3600)}h ago` : `${Math.round(s / 86_400)}d ago`;
}

export function renderFleet(items: ListItem[], now: number): string {
  if (items.length === 0) return 'no gateways';
  const rows = items.map((g) => [
    g.id,
    g.region,
    g.state.toUpperCase(),
    ago(now - g.lastSeen),
    g.paths.map((p) => `${p.name}:${p.state}`).join(' ') || '-',
    g.queue ? `${g.queue.pending}/${g.queue.dead} ${Math.round(g.queue.oldestAgeS)}s${g.queue.expiryWarning ? ` NEAR EXPIRY (${Math.round(g.queue.expiryWarning * 100)}%)` : ''}` : '-',
    g.configVersion + (g.desiredConfigVersion !== null && g.desiredConfigVersion !== g.configVersion ? ` (desired ${g.desiredConfigVersion})` : ''),
  ]);
  const header = ['ID', 'REGION', 'STATE', 'LAST SEEN', 'PATHS', 'QUEUE P/D OLDEST', 'CONFIG'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

interface Detail extends ListItem {
  version: string;
  paths: Parameters<typeof renderStatus>[0]['paths'];
  config: { desired: { version: string; applyStatus: string; applyError: string | null; setBy: string } | null; reported: string | null; inSync: boolean | null };
  events: { ts: number; source: string; event: string; details: Record<string, unknown> }[];
}

export function renderGateway(g: Detail, now: number): string {
  const lines = [
    renderStatus({ store: { id: g.id, region: g.region }, configVersion: g.configVersion, paths: g.paths, ...(g.queue && { queue: g.queue }) }),
    '',
    `${g.state.toUpperCase()}, last seen ${ago(now - g.lastSeen)}, storegw ${g.version}`,
  ];
  const d = g.config.desired;
  if (d) lines.push(`desired config ${d.version} (set by ${d.setBy}): ${g.config.inSync ? 'in sync' : d.applyStatus}${d.applyError ? ` — ${d.applyError}` : ''}`);
  if (g.events.length > 0) {
    lines.push('', 'recent events:');
    for (const e of g.events.slice(0, 10)) lines.push(`  ${new Date(e.ts).toISOString()}  ${e.event}  ${JSON.stringify(e.details)}`);
  }
  return lines.join('\n');
}

function parseJsonArgs(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError(`--args is JSON, e.g. '{"ratePerSec":10}'`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UsageError('--args is a JSON object');
  return v as Record<string, unknown>;
}

export async function fleetCommand(args: string[], out: (s: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      hub: { type: 'string' },
      'token-file': { type: 'string' },
      region: { type: 'string' },
      tag: { type: 'string' },
      state: { type: 'string' },
      args: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const [sub, ...rest] = positionals;
  if (sub !== 'ls' && sub !== 'show' && sub !== 'send') throw new UsageError(sub === undefined ? 'a subcommand is required' : `unknown fleet command: ${sub}`);
  const tokenFile = values['token-file'] ?? env.STOREGW_HUB_TOKEN_FILE;
  if (!tokenFile) throw new UsageError('the hub needs a token: pass --token-file or set STOREGW_HUB_TOKEN_FILE');
  const hub: Hub = { url: values.hub ?? env.STOREGW_HUB_URL ?? 'http://127.0.0.1:7070', tokenFile };
  const print = (v: unknown, text: () => string) => out(values.json ? JSON.stringify(v, null, 2) : text());

  switch (sub) {
    case 'ls': {
      if (rest.length > 0) throw new UsageError(`ls takes no arguments: ${rest[0]}`);
      const q = new URLSearchParams();
      for (const k of ['region', 'tag', 'state'] as const) if (values[k] !== undefined) q.set(k, values[k]);
      const items = (await hubCall(hub, 'GET', `/v1/gateways${q.size > 0 ? `?${q}` : ''}`)) as ListItem[];
      print(items, () => renderFleet(items, Date.now()));
      return 0;
    }
    case 'show': {
      if (rest.length !== 1) throw new UsageError('show takes one gateway ID');
      const g = (await hubCall(hub, 'GET', `/v1/gateways/${encodeURIComponent(rest[0]!)}`)) as Detail;
      print(g, () => renderGateway(g, Date.now()));
      return 0;
    }
    case 'send': {
      const fleet = values.region !== undefined || values.tag !== undefined;
      if (rest.length !== (fleet ? 1 : 2)) throw new UsageError(fleet ? 'send --region/--tag takes one COMMAND' : 'send takes a gateway ID and a COMMAND (or --region R / --tag T and a COMMAND)');
      const body = { command: rest.at(-1)!, args: parseJsonArgs(values.args) };
      if (!fleet) {
        const r = (await hubCall(hub, 'POST', `/v1/gateways/${encodeURIComponent(rest[0]!)}/commands`, body)) as { ok: boolean; result?: unknown; error?: { code: string; message: string } };
        print(r, () => (r.ok ? `${rest[0]}: ok${r.result !== undefined ? `\n${JSON.stringify(r.result, null, 2)}` : ''}` : `${rest[0]}: failed: ${r.error?.code}: ${r.error?.message}`));
        return r.ok ? 0 : 1;
      }
      const r = (await hubCall(hub, 'POST', '/v1/fleet/commands', { ...body, ...(values.region !== undefined && { region: values.region }), ...(values.tag !== undefined && { tag: values.tag }) })) as {
        sent: number;
        ok: number;
        failed: number;
        offline: number;
        offlineIds: string[];
        results: { id: string; ok: boolean; error?: { code: string; message: string } }[];
      };
      print(r, () =>
        [
          `sent to ${r.sent}: ${r.ok} ok, ${r.failed} failed; ${r.offline} offline${r.offline > 0 ? ` (${r.offlineIds.slice(0, 20).join(', ')}${r.offline > 20 ? ', ...' : ''})` : ''}`,
          ...r.results.filter((x) => !x.ok).map((x) => `  ${x.id}: ${x.error?.code}: ${x.error?.message}`),
        ].join('\n'),
      );
      return r.failed > 0 ? 1 : 0;
    }
  }
}
