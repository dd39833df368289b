// `npm run bench -- replicas`: what routing a command through another hub
// replica costs (issue #17 chose PostgreSQL LISTEN/NOTIFY over Redis: no
// component to add, if its round trip is small next to a command's). On the
// local PostgreSQL (test/support/postgres.ts: a database made for the run):
// a query's round trip as the floor, a NOTIFY ping-pong between two
// connections (two hops, as a routed command and its answer), and a `status`
// command to a gateway on hub replica A asked of A itself and of replica B.
// Both hubs, the gateway and the client share this process's event loop, as
// they share the machine's two cores: the figures compare, they do not size.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import { postgresStore } from '../../src/fleet/hub/store/postgres-config.js';
import { startHub, type RunningHub } from '../../src/fleet/hub/server.js';
import { createLogger } from '../../src/log.js';
import { FakeGateway } from '../support/fake-gateway.js';
import { tempDir } from '../support/gateway.js';
import { createTestDatabase, postgresSkipReason } from '../support/postgres.js';
import type { BenchSection, SectionReport } from './section.js';
import { num, type Table } from './table.js';

const N = 500;
const OPS_TOKEN = randomBytes(18).toString('hex');
const GATEWAY_TOKEN = randomBytes(18).toString('hex');

function percentiles(ms: number[]): { p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? Number.NaN };
}

async function timed(n: number, op: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await op();
    out.push(performance.now() - t);
  }
  return out;
}

async function pingPong(a: pg.Client, b: pg.Client): Promise<number[]> {
  await a.query('LISTEN bench_a');
  await b.query('LISTEN bench_b');
  // B answers every notification at once, as a replica answers a routed command.
  b.on('notification', (n) => void b.query(`SELECT pg_notify('bench_a', $1)`, [n.payload ?? '']));
  let waiting: ((payload: string) => void) | undefined;
  a.on('notification', (n) => waiting?.(n.payload ?? ''));
  let i = 0;
  return timed(N, async () => {
    const payload = String(i++);
    const answered = new Promise<string>((resolve) => (waiting = resolve));
    await a.query(`SELECT pg_notify('bench_b', $1)`, [payload]);
    if ((await answered) !== payload) throw new Error('notifications out of order');
  });
}

export const replicasBench: BenchSection = {
  name: 'replicas',
  description: 'a command routed through another hub replica over PostgreSQL LISTEN/NOTIFY, against one sent directly',
  async run(): Promise<SectionReport> {
    const skip = postgresSkipReason();
    if (skip !== undefined) return { tables: [], summary: [`skipped: ${skip}`], json: { skipped: skip } };
    const db = createTestDatabase();
    const dir = tempDir('storegw-bench-replicas-');
    const hubs: RunningHub[] = [];
    const clients: pg.Client[] = [];
    let gw: FakeGateway | undefined;
    try {
      const connection = postgresStore(db.config);
      for (let i = 0; i < 2; i++) {
        const c = new pg.Client({ host: connection.host, port: connection.port, database: connection.database, user: connection.user, password: connection.password });
        await c.connect();
        clients.push(c);
      }
      const [c1, c2] = clients as [pg.Client, pg.Client];
      const query = await timed(N, async () => void (await c1.query('SELECT 1')));
      const notify = await pingPong(c1, c2);

      writeFileSync(join(dir, 'gateway-tokens.yaml'), `g-1: ${GATEWAY_TOKEN}\n`, { mode: 0o600 });
      writeFileSync(join(dir, 'ops.token'), `${OPS_TOKEN}\n`, { mode: 0o600 });
      writeFileSync(
        join(dir, 'hub.yaml'),
        `version: 1
listen: { host: 127.0.0.1, port: 0 }
store: { postgres: ${JSON.stringify(db.config)} }
auth: { gatewayTokensFile: gateway-tokens.yaml, opsTokens: [ { tokenFile: ops.token, role: operator } ] }
# A thousand answers in a few seconds: over the default 100 messages/s, which would refuse some and time their commands out.
connections: { rateLimit: { messagesPerSec: 100000, burst: 100000 } }
`,
      );
      // Warnings only (a command that timed out says so), to stderr, apart from the tables.
      for (let i = 0; i < 2; i++) hubs.push(await startHub(loadHubConfig(join(dir, 'hub.yaml')), createLogger({ level: 'warn', destination: process.stderr })));
      const [a, b] = hubs as [RunningHub, RunningHub];
      gw = await FakeGateway.connect({ url: `${a.url.replace('http', 'ws')}/v1/gateways/connect`, token: GATEWAY_TOKEN, id: 'g-1', keepMessages: false });
      const command = (hub: RunningHub) => async () => {
        const res = await request(`${hub.url}/v1/gateways/g-1/commands`, {
          method: 'POST',
          headers: { authorization: `Bearer ${OPS_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ command: 'status' }),
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`command answered ${res.statusCode}: ${text}`);
      };
      // Until the presence row is written, B would answer offline.
      for (let tries = 0; ; tries++) {
        try {
          await command(b)();
          break;
        } catch (e) {
          if (tries > 100) throw e;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      const direct = await timed(N, command(a));
      const routed = await timed(N, command(b));

      const rows = [
        ['SELECT 1 (one query\'s round trip)', query],
        ['NOTIFY ping-pong between two connections', notify],
        ['status command, asked of replica A (gateway on A)', direct],
        ['status command, asked of replica B (routed to A)', routed],
      ] as const;
      const stats = rows.map(([what, ms]) => ({ what, ...percentiles(ms) }));
      const table: Table = {
        title: `${N} sequential round trips each (ms)`,
        columns: ['what', 'p50', 'p99', 'max'],
        rows: stats.map((s) => [s.what, num(s.p50, 2), num(s.p99, 2), num(s.max, 2)]),
      };
      const cost = (stats[3]?.p50 ?? 0) - (stats[2]?.p50 ?? 0);
      return {
        tables: [table],
        summary: [`Routing through another replica adds ${num(cost, 2)} ms at p50 (a relay row and a NOTIFY each way).`],
        json: { n: N, stats },
      };
    } finally {
      gw?.terminate();
      for (const h of hubs) await h.close().catch(() => undefined);
      for (const c of clients) await c.end().catch(() => undefined);
      db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
