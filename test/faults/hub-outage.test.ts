// Fault: the central fleet hub (a real `storegw hub` process) dies with
// SIGKILL mid-load and comes back on the same port and database some seconds
// later. The store must not notice: every client answered within its
// deadline, nothing acknowledged lost or doubled; and the hub must get the
// outage's telemetry afterwards (spooled by the gateway, sent late, marked
// spooled, with the times it was taken), so the fleet's history has no hole.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { CLI, freePort } from '../support/gateway-process.js';
import { eventually } from '../support/pos.js';
import { check, startBed } from './bed.js';

const OUTAGE_MS = Number(process.env.STOREGW_FAULT_HUB_OUTAGE_MS ?? 8000);
const TELEMETRY_MS = 500;
const GW_TOKEN = 'fleet-token-faults-5d1e9a7c3b';
const OPS_TOKEN = 'ops-token-faults-0a1b2c3d4e5f';

async function startHub(dir: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [CLI, 'hub', '--config', join(dir, 'hub.yaml')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start:\n${out}`)), 20_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('"hub started"')) (clearTimeout(timer), resolve());
    });
    proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    proc.once('exit', (code) => (clearTimeout(timer), reject(new Error(`hub exited (${code}):\n${out}`))));
  });
  proc.stdout!.resume();
  return proc;
}

interface Point {
  ts: number;
  resolution: string;
  spooled?: boolean;
}

describe('fault matrix: fleet hub down and back', () => {
  it(`the hub SIGKILLed for ${OUTAGE_MS / 1000} s under load: the store is unaffected, the outage's telemetry reaches the hub afterwards`, { timeout: 180_000 }, async () => {
    const hubPort = await freePort();
    const hubUrl = `http://127.0.0.1:${hubPort}`;
    const bed = await startBed({
      name: 'hub',
      extra: `fleet:
  hubUrl: ws://127.0.0.1:${hubPort}/v1/gateways/connect
  tokenFile: fleet.token
  telemetryIntervalMs: ${TELEMETRY_MS}
  heartbeatIntervalMs: 1000
  reconnect: { baseMs: 200, maxMs: 1000 }
  spoolPath: ./fleet-spool.db`,
    });
    writeFileSync(join(bed.dir, 'fleet.token'), `${GW_TOKEN}\n`, { mode: 0o600 });
    writeFileSync(join(bed.dir, 'gateway-tokens.yaml'), `store-faults: ${GW_TOKEN}\n`, { mode: 0o600 });
    writeFileSync(join(bed.dir, 'ops.token'), `${OPS_TOKEN}\n`, { mode: 0o600 });
    writeFileSync(
      join(bed.dir, 'hub.yaml'),
      `version: 1
listen: { host: 127.0.0.1, port: ${hubPort} }
store: { path: ./hub.db, flushIntervalMs: 100 }
auth:
  gatewayTokensFile: gateway-tokens.yaml
  opsTokens: [ { tokenFile: ops.token, role: operator } ]
connections: { heartbeatIntervalMs: 1000 }
`,
    );
    const api = async (path: string) => {
      const res = await request(`${hubUrl}${path}`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    };
    let hub = await startHub(bed.dir);
    try {
      const mix = bed.mix();
      mix.start();
      await eventually(async () => expect((await api('/v1/gateways/store-faults')).body).toMatchObject({ online: true }), 15_000, 200);
      await sleep(2000);
      // A short ERP brownout during the outage too: there is a backlog and a drain to report.
      hub.kill('SIGKILL');
      const down = Date.now();
      bed.erp.setBehavior({ mode: 'fail', status: 503 });
      await sleep(OUTAGE_MS / 2);
      bed.erp.setBehavior({ mode: 'ok' });
      await sleep(OUTAGE_MS / 2);
      hub = await startHub(bed.dir);
      const up = Date.now();
      await eventually(async () => expect((await api('/v1/gateways/store-faults')).body).toMatchObject({ online: true }), 20_000, 200);
      // The outage's telemetry arrives late, marked spooled, with the times it was taken.
      let outage: Point[] = [];
      await eventually(async () => {
        const { body } = await api(`/v1/gateways/store-faults/telemetry?since=${down - 5000}&limit=1000`);
        const points = body.points as Point[];
        outage = points.filter((p) => p.ts >= down && p.ts <= up);
        expect(outage.filter((p) => p.spooled).length).toBeGreaterThanOrEqual(Math.floor((0.5 * OUTAGE_MS) / TELEMETRY_MS));
      }, 20_000, 250);
      const spooled = outage.filter((p) => p.spooled);
      // No hole longer than a few intervals in the outage's history (a hole means lost
      // telemetry; the margin is for a shared 2-core machine's scheduling, not speed).
      const ts = outage.map((p) => p.ts).sort((a, b) => a - b);
      const widestGapMs = Math.max(ts[0]! - down, ...ts.slice(1).map((t, i) => t - ts[i]!), up - ts.at(-1)!);
      expect(widestGapMs).toBeLessThan(6 * TELEMETRY_MS + 3000);
      await mix.stop(30_000);
      await bed.gw.drained(60_000);
      expect(bed.gw.logs()).toMatch(/connection to the fleet hub lost|cannot reach the fleet hub/);
      expect(bed.gw.logs()).not.toContain(GW_TOKEN);
      check('hub down and back', mix, mix.verify(bed.erp), { outageMs: OUTAGE_MS, spooledPointsBackfilled: spooled.length, widestTelemetryGapMs: widestGapMs });
    } finally {
      hub.kill('SIGKILL');
      await bed.close();
    }
  });
});
