// kill -9 of the hub between receiving telemetry and storing it (issue #17,
// "no telemetry lost"): a real `storegw hub` process (dist/, on SQLite, with a
// flush interval far longer than the test, so everything it receives waits in
// its memory) takes telemetry and events from a real fleet agent and is
// SIGKILLed; a new hub process on the same database and port takes the agent's
// resends. Every telemetry message and event the agent wrote to its socket must
// be in the database exactly once. What the agent sent is read off its socket
// (ws's send, in this process; the hub runs in another).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { loadGatewayConfig } from '../../edge-config/load.js';
import { FleetAgent } from '../../src/fleet/agent/agent.js';
import type { GatewayMessage } from '../../src/fleet/protocol.js';
import { createLogger } from '../../src/log.js';
import { FakeAgentHost } from '../support/fake-gateway.js';
import { CLI, freePort } from '../support/gateway-process.js';
import { gatewayYaml, tempDir } from '../support/gateway.js';
import { eventually } from '../support/pos.js';

/** gatewayYaml's store. */
const GATEWAY = 'store-test';
const TOKEN = 'gw-token-kill-0123456789abcdef';
const receipt = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const outcome = (i: number) => ({ receipt: receipt(i), route: 'pos-orders', cls: 'critical', reason: 'no answer within 8000 ms', attempts: 1 });

function writeHubConfig(dir: string, port: number, flushIntervalMs: number): string {
  writeFileSync(join(dir, 'gateway-tokens.yaml'), `${GATEWAY}: ${TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'ops.token'), 'ops-token-0123456789abcdef\n', { mode: 0o600 });
  const file = join(dir, `hub-${flushIntervalMs}.yaml`);
  writeFileSync(
    file,
    `version: 1
listen: { host: 127.0.0.1, port: ${port} }
store: { path: ./hub.db, flushIntervalMs: ${flushIntervalMs} }
auth:
  gatewayTokensFile: gateway-tokens.yaml
  opsTokens: [ { tokenFile: ops.token, role: operator } ]
connections: { heartbeatIntervalMs: 300, helloTimeoutMs: 2000 }
`,
  );
  return file;
}

async function startHubProcess(config: string, cwd: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [CLI, 'hub', '--config', config], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } });
  const lines: string[] = [];
  proc.stderr!.on('data', (c: Buffer) => lines.push(c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start:\n${lines.join('')}`)), 15_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      lines.push(line);
      if (!line.includes('"hub started"')) return;
      clearTimeout(timer);
      resolve();
    });
    proc.once('exit', (code) => reject(new Error(`hub exited with ${code}:\n${lines.join('\n')}`)));
  });
  return proc;
}

describe('a hub SIGKILLed between receiving telemetry and storing it', () => {
  const dir = tempDir('storegw-hub-kill-');
  const procs: ChildProcess[] = [];
  let agent: FleetAgent | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await agent?.stop();
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loses nothing: every telemetry message and event the agent sent is stored exactly once', async () => {
    const port = await freePort();
    // The first hub would write its batch a minute from now: whatever it receives is only in its memory when it dies.
    const first = await startHubProcess(writeHubConfig(dir, port, 60_000), dir);
    procs.push(first);

    // What the agent writes to its socket: each message's id, as often as it is sent.
    const sent: GatewayMessage[] = [];
    const send = WebSocket.prototype.send;
    vi.spyOn(WebSocket.prototype, 'send').mockImplementation(function (this: WebSocket, data: unknown, ...rest: unknown[]) {
      if (typeof data === 'string') sent.push(JSON.parse(data) as GatewayMessage);
      return (send as (...a: unknown[]) => void).call(this, data, ...rest);
    });
    const ofType = (type: string) => sent.filter((m) => m.type === type);

    writeFileSync(join(dir, 'fleet.token'), `${TOKEN}\n`, { mode: 0o600 });
    writeFileSync(
      join(dir, 'gateway.yaml'),
      gatewayYaml('http://127.0.0.1:1', '  - name: all\n    match: { path: /* }\n    class: normal', {
        extra: `fleet:
  hubUrl: ws://127.0.0.1:${port}/v1/gateways/connect
  tokenFile: fleet.token
  telemetryIntervalMs: 100
  heartbeatIntervalMs: 300
  reconnect: { baseMs: 50, maxMs: 200 }`,
      }),
    );
    const host = new FakeAgentHost(loadGatewayConfig(join(dir, 'gateway.yaml')));
    const logs: string[] = [];
    agent = new FleetAgent(host, createLogger({ level: 'debug', destination: new Writable({ write: (c: Buffer, _e, done) => (logs.push(c.toString()), done()) }) }));
    await agent.start();

    await eventually(() => expect(ofType('telemetry').length).toBeGreaterThanOrEqual(8), 10_000);
    host.unknownOutcome(outcome(1));
    host.unknownOutcome(outcome(2));
    await eventually(() => expect(ofType('event')).toHaveLength(2), 5000);
    // Received (the socket has written it) and not stored: the database has none of it.
    await new Promise((r) => setTimeout(r, 200));
    const db = () => new Database(join(dir, 'hub.db'), { readonly: true, fileMustExist: true });
    const count = (sql: string) => {
      const d = db();
      try {
        return d.prepare(sql).pluck().get() as number;
      } finally {
        d.close();
      }
    };
    expect(count(`SELECT count(*) FROM telemetry`)).toBe(0);
    const beforeKill = new Set(ofType('telemetry').map((m) => m.id));

    first.kill('SIGKILL');
    await once(first, 'exit');
    // While no hub is up: spooled, as before acks.
    host.unknownOutcome(outcome(3));
    await eventually(() => expect(logs.join('')).toMatch(/cannot reach the fleet hub/), 5000);

    const second = await startHubProcess(writeHubConfig(dir, port, 50), dir);
    procs.push(second);

    // Everything sent so far (before the kill, and by now after it) is stored, once.
    const stored = () => {
      const d = db();
      try {
        return {
          telemetry: d.prepare(`SELECT msg_id AS id, count(*) AS n FROM telemetry WHERE gateway_id = ? GROUP BY msg_id`).all(GATEWAY) as { id: string | null; n: number }[],
          events: d.prepare(`SELECT msg_id AS id, count(*) AS n FROM events WHERE gateway_id = ? AND source = 'gateway' GROUP BY msg_id`).all(GATEWAY) as { id: string | null; n: number }[],
        };
      } finally {
        d.close();
      }
    };
    const sentIds = (type: string) => new Set(ofType(type).map((m) => m.id));
    // The event spooled while no hub was up goes once the agent is back.
    await eventually(() => expect(sentIds('event').size).toBe(3), 10_000);
    // What the agent had sent by now (before the kill, and since): all of it must come to be stored.
    const want = { telemetry: sentIds('telemetry'), events: sentIds('event') };
    await eventually(() => {
      const now = stored();
      const have = new Set(now.telemetry.map((r) => r.id));
      expect([...want.telemetry].filter((id) => !have.has(id))).toEqual([]);
      expect(now.events.map((r) => r.id).sort()).toEqual([...want.events].sort());
    }, 15_000);
    // Once each, and nothing the agent did not send (a row without its id would be a message stored without one).
    const now = stored();
    const sentSince = sentIds('telemetry');
    expect([...now.telemetry, ...now.events].filter((r) => r.n !== 1 || r.id === null)).toEqual([]);
    expect(now.telemetry.filter((r) => !sentSince.has(r.id!))).toEqual([]);

    // Not vacuous: every message the killed hub had received came back only by being sent again.
    const resent = new Set(ofType('telemetry').filter((m) => beforeKill.has(m.id) && m.type === 'telemetry' && m.spooled === true).map((m) => m.id));
    expect(resent).toEqual(beforeKill);
  }, 60_000);
});
