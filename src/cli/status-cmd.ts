import { adminCall, parseAdminArgs } from './admin-client.js';

interface StatusPath {
  name: string;
  state: string;
  score?: number;
  rttMs?: number;
  lossPct?: number;
  handshakeAgeS?: number;
}
interface Status {
  store: { id: string; region?: string };
  configVersion: string;
  paths: StatusPath[];
  queue?: { pending: number; dead: number; oldestAgeS: number };
  replay?: { paused: boolean; ratePerSec: number };
}

const fmt = (v: number | undefined, unit = '') => (v === undefined ? '-' : `${Math.round(v * 10) / 10}${unit}`);

export function renderStatus(s: Status): string {
  const lines = [`store ${s.store.id}${s.store.region ? ` (${s.store.region})` : ''}  config ${s.configVersion}`, ''];
  lines.push('PATH          STATE      SCORE  RTT      LOSS   HANDSHAKE');
  for (const p of s.paths) {
    lines.push(
      `${p.name.padEnd(13)} ${p.state.toUpperCase().padEnd(10)} ${fmt(p.score).padEnd(6)} ${fmt(p.rttMs, 'ms').padEnd(8)} ${fmt(p.lossPct, '%').padEnd(6)} ${fmt(p.handshakeAgeS, 's')}`,
    );
  }
  if (s.queue) lines.push('', `queue: ${s.queue.pending} pending, ${s.queue.dead} dead, oldest ${fmt(s.queue.oldestAgeS, 's')}`);
  if (s.replay) lines.push(`replay: ${s.replay.paused ? 'PAUSED' : 'running'} at ${s.replay.ratePerSec}/s`);
  return lines.join('\n');
}

export async function statusCommand(args: string[], out: (s: string) => void): Promise<number> {
  const { target, values } = parseAdminArgs(args);
  const status = (await adminCall(target, 'GET', '/v1/status')) as Status;
  out(values.json ? JSON.stringify(status, null, 2) : renderStatus(status));
  return 0;
}
