import { parseArgs } from 'node:util';
import { request } from 'undici';
import { readSecretFile } from '../util/secret-file.js';

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

export async function statusCommand(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { admin: { type: 'string', default: 'http://127.0.0.1:9080' }, 'token-file': { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const headers: Record<string, string> = {};
  if (values['token-file']) headers.authorization = `Bearer ${readSecretFile(values['token-file']).value}`;
  let res;
  try {
    res = await request(new URL('/v1/status', values.admin), { headers, headersTimeout: 5000, bodyTimeout: 5000 });
  } catch (e) {
    err(`cannot reach the gateway admin API at ${values.admin}: ${(e as Error).message}`);
    return 1;
  }
  if (res.statusCode !== 200) {
    err(`${values.admin} answered ${res.statusCode}${res.statusCode === 401 ? ' (pass --token-file)' : ''}`);
    await res.body.dump();
    return 1;
  }
  const status = (await res.body.json()) as Status;
  out(values.json ? JSON.stringify(status, null, 2) : renderStatus(status));
  return 0;
}
