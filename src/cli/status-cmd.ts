import { adminCall, parseAdminArgs } from './admin-client.js';
import { UsageError } from './usage.js';

interface StatusPath {
  name: string;
  state: string;
  score?: number;
  rttMs?: number | null;
  jitterMs?: number;
  lossPct?: number;
  handshakeAgeS?: number | null;
  rxBps?: number | null;
  txBps?: number | null;
  wireguardError?: string;
}
interface Status {
  store: { id: string; region?: string };
  configVersion: string;
  paths: StatusPath[];
  /** maxAgeS null: through the hub, from a gateway that does not report it. */
  queue?: { pending: number; dead: number; unknown?: number; oldestAgeS: number; maxAgeS?: number | null; expiryWarning?: number | null };
  replay?: { paused: boolean; ratePerSec: number };
  journalBackup?: { path: string; everyMinutes: number; lastAt: string | null; ageS: number; lastError: string | null } | null;
}

const fmt = (v: number | null | undefined, unit = '') => (v === undefined || v === null ? '-' : `${Math.round(v * 10) / 10}${unit}`);

function rate(bps: number | null | undefined): string {
  if (bps === undefined || bps === null) return '-';
  const bits = bps * 8;
  return bits >= 1e6 ? `${fmt(bits / 1e6)}Mb/s` : `${fmt(bits / 1e3)}kb/s`;
}

/** Pending entries about to become dead letters: said only while a warning stands. */
function nearExpiry(q: NonNullable<Status['queue']>): string {
  if (!q.expiryWarning || typeof q.maxAgeS !== 'number') return '';
  return `, NEAR EXPIRY: past ${Math.round(q.expiryWarning * 100)}% of the max age (${fmt(q.maxAgeS / 3600, 'h')}), then dead letters`;
}

export function renderStatus(s: Status): string {
  const lines = [`store ${s.store.id}${s.store.region ? ` (${s.store.region})` : ''}  config ${s.configVersion}`, ''];
  lines.push('PATH          STATE      SCORE  RTT      JITTER   LOSS   HANDSHAKE  RX/TX');
  for (const p of s.paths) {
    const wg = p.wireguardError ? `wg: ${p.wireguardError}` : `${fmt(p.handshakeAgeS, 's').padEnd(10)} ${rate(p.rxBps)}/${rate(p.txBps)}`;
    lines.push(
      `${p.name.padEnd(13)} ${p.state.toUpperCase().padEnd(10)} ${fmt(p.score).padEnd(6)} ${fmt(p.rttMs, 'ms').padEnd(8)} ${fmt(p.jitterMs, 'ms').padEnd(8)} ${fmt(p.lossPct, '%').padEnd(6)} ${wg}`,
    );
  }
  if (s.queue) {
    // Unknown outcomes need a person: named only when there are some (and by gateways that count them).
    const unknown = s.queue.unknown ? `, ${s.queue.unknown} UNKNOWN (storegw queue ls --state unknown)` : '';
    lines.push('', `queue: ${s.queue.pending} pending, ${s.queue.dead} dead${unknown}, oldest ${fmt(s.queue.oldestAgeS, 's')}${nearExpiry(s.queue)}`);
  }
  if (s.replay) lines.push(`replay: ${s.replay.paused ? 'PAUSED' : 'running'} at ${s.replay.ratePerSec}/s`);
  const b = s.journalBackup;
  if (b) {
    const last = b.lastAt === null ? 'none yet' : `last ${fmt(b.ageS, 's')} ago`;
    lines.push(`journal backup: ${b.path}, ${last} (every ${b.everyMinutes} min)${b.lastError ? `, FAILING: ${b.lastError}` : ''}`);
  }
  return lines.join('\n');
}

export async function statusCommand(args: string[], out: (s: string) => void): Promise<number> {
  const { target, values, positionals } = parseAdminArgs(args);
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const status = (await adminCall(target, 'GET', '/v1/status')) as Status;
  out(values.json ? JSON.stringify(status, null, 2) : renderStatus(status));
  return 0;
}
