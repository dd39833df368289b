// The fleet hub over real sockets and a real SQLite file (and all of it again on
// a real PostgreSQL database): gateway auth before the upgrade, the one-connection
// rule, heartbeats, malformed and oversized frames, rate limits, commands end
// to end through the ops API, desired configs, staged rollouts, restarts, and
// the `storegw fleet` CLI.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import { startHub, type RunningHub } from '../../src/fleet/hub/server.js';
import { MAX_FRAME_BYTES, type CommandMessage, type ErrorMessage, type HubMessage } from '../../src/fleet/protocol.js';
import { createLogger } from '../../src/log.js';
import { FakeGateway, type FakeGatewayOptions } from '../support/fake-gateway.js';
import { tempDir } from '../support/gateway.js';
import { minimalGatewayYaml as gatewayYaml } from '../support/minimal-config.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const OPS_TOKEN = 'ops-token-0123456789abcdef';
const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';
const IDS = ['s-auth', 's-list', 's-other', 's-bad', 's-big', 's-rate', 's-flood', 's-twice', 's-hang', 's-cmd', 's-mute', 'n-1', 'n-2', 'n-3', 'south-1', 's-desired', 'r-1', 'r-2', 'r-3', 'k-1', 'k-2', 'k-3', 's-unknown', 's-expiry', 's-ack', 's-noack'];
const tokenOf = (id: string) => `token-of-${id}-0123456789`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

interface TestHub {
  hub: RunningHub;
  dir: string;
  logs(): string;
  connect(id: string, more?: Partial<FakeGatewayOptions>): Promise<FakeGateway>;
  api(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, token?: string | null, contentType?: string): Promise<{ status: number; body: any; link?: string }>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** `store`: the hub.yaml store mapping's database keys (the SQLite file, or store.postgres). */
async function startTestHub(store: string): Promise<TestHub> {
  const dir = tempDir('storegw-hub-');
  // One token stored as plain text, the others as their sha256.
  writeFileSync(join(dir, 'gateway-tokens.yaml'), IDS.map((id, i) => `${id}: ${i === 0 ? tokenOf(id) : `"sha256:${sha(tokenOf(id))}"`}`).join('\n') + '\n', { mode: 0o600 });
  writeFileSync(join(dir, 'ops.token'), OPS_TOKEN + '\n', { mode: 0o600 });
  writeFileSync(join(dir, 'viewer.token'), VIEWER_TOKEN + '\n', { mode: 0o600 });
  writeFileSync(
    join(dir, 'hub.yaml'),
    `version: 1
listen: { host: 127.0.0.1, port: 0 }
store: { ${store}, flushIntervalMs: 50 }
auth:
  gatewayTokensFile: gateway-tokens.yaml
  opsTokens: [ { tokenFile: ops.token, role: operator }, { tokenFile: viewer.token, role: viewer } ]
connections:
  heartbeatIntervalMs: 200
  helloTimeoutMs: 2000
  rateLimit: { messagesPerSec: 20, burst: 20, closeAfterRejects: 40 }
commands: { timeoutMs: 500, configApplyTimeoutMs: 3000 }
`,
  );
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const t: TestHub = {
    hub: await startHub(loadHubConfig(join(dir, 'hub.yaml')), logger),
    dir,
    logs: () => lines.join(''),
    connect(id, more = {}) {
      return FakeGateway.connect({ url: `${t.hub.url.replace('http', 'ws')}/v1/gateways/connect`, token: tokenOf(id), id, ...more });
    },
    async api(method, path, body, token = OPS_TOKEN, contentType = 'application/json') {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = contentType;
      const res = await request(`${t.hub.url}${path}`, { method, headers, body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body) });
      const text = await res.body.text();
      const link = res.headers.link;
      return { status: res.statusCode, body: text === '' ? undefined : JSON.parse(text), ...(typeof link === 'string' && { link }) };
    },
    async restart() {
      await t.hub.close();
      t.hub = await startHub(loadHubConfig(join(dir, 'hub.yaml')), logger);
    },
    async close() {
      await t.hub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(25);
  }
}

const isError = (code: string, re?: string) => (m: HubMessage) => m.type === 'error' && m.error.code === code && (re === undefined || m.re === re);
const isCommand = (command: string) => (m: HubMessage): m is CommandMessage => m.type === 'command' && m.command === command;

/** The same hub, on each backend: `store` gives hub.yaml's database keys once the backend is ready; `secrets`, what else the log must not hold. */
function fleetHub(store: () => string, secrets: () => string[] = () => []) {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub(store());
  });
  afterAll(async () => {
    await t.close();
  });

  describe('gateway connections', () => {
    it('refuses an unknown token before the upgrade, and keeps nothing', async () => {
      const url = `${t.hub.url.replace('http', 'ws')}/v1/gateways/connect`;
      expect(await FakeGateway.refusal({ url, token: 'not-a-known-token-0123456789', id: 's-auth' })).toBe(401);
      expect(await FakeGateway.refusal({ url, token: '', id: 's-auth' })).toBe(401);
      expect(await FakeGateway.refusal({ url: url.replace('/connect', '/other'), token: tokenOf('s-auth'), id: 's-auth' })).toBe(404);
      const list = await t.api('GET', '/v1/gateways');
      expect(list.body.map((g: { id: string }) => g.id)).not.toContain('s-auth');
      expect(t.logs()).toContain('gateway connection refused: missing or unknown token');
    });

    it('lists a gateway with a valid token as online, and offline once it leaves', async () => {
      const gw = await t.connect('s-list', { region: 'eu-west', tags: ['pilot'] });
      gw.queue = { pending: 3, dead: 1, oldestAgeS: 42 };
      gw.telemetry();
      const listed = await eventually(
        () => t.api('GET', '/v1/gateways?region=eu-west'),
        (r) => r.body[0]?.queue !== null && r.body.length === 1,
      );
      expect(listed.body).toEqual([
        expect.objectContaining({
          id: 's-list',
          region: 'eu-west',
          tags: ['pilot'],
          online: true,
          state: 'up',
          paths: [
            { name: 'fiber', state: 'up' },
            { name: 'lte', state: 'up' },
          ],
          // unknown, maxAgeS, expiryWarning: null, as from a gateway before the unknown state and expiry warnings, which does not report them.
          queue: { pending: 3, dead: 1, unknown: null, oldestAgeS: 42, maxAgeS: null, expiryWarning: null },
        }),
      ]);
      expect((await t.api('GET', '/v1/gateways?tag=pilot&state=online')).body).toHaveLength(1);
      await gw.close();
      const after = await eventually(
        () => t.api('GET', '/v1/gateways/s-list'),
        (r) => r.body.online === false,
      );
      expect(after.body).toMatchObject({ online: false, state: 'offline' });
      expect(after.body.events.map((e: { event: string }) => e.event)).toEqual(expect.arrayContaining(['hub.connected', 'hub.disconnected']));
    });

    it('refuses a hello that names another gateway than the token', async () => {
      const spoof = await FakeGateway.connect({ url: `${t.hub.url.replace('http', 'ws')}/v1/gateways/connect`, token: tokenOf('s-other'), id: 's-list' });
      const error = (await spoof.waitFor(isError('wrong_gateway'))) as ErrorMessage;
      expect(error.error.message).toContain('belongs to gateway s-other');
      expect(await spoof.closed).toEqual({ code: 4003, reason: 'hello names another gateway' });
      expect((await t.api('GET', '/v1/gateways/s-other')).status).toBe(404);
    });

    it('answers malformed, unknown and invalid messages with an error and keeps the connection', async () => {
      const gw = await t.connect('s-bad');
      gw.sendRaw('{"type": "telemetry",');
      await gw.waitFor(isError('malformed'));
      gw.sendRaw(JSON.stringify({ type: 'launch', id: 'm-1', ts: 1 }));
      await gw.waitFor(isError('unknown_type', 'm-1'));
      gw.sendRaw(JSON.stringify({ type: 'telemetry', id: 'm-2', ts: 1, configVersion: 'x', paths: [], queue: 'full', requests: {} }));
      const invalid = (await gw.waitFor(isError('invalid', 'm-2'))) as ErrorMessage;
      expect(invalid.error.message).toContain('/queue');
      gw.sendRaw(Buffer.from('{}'), true);
      await gw.waitFor((m) => m.type === 'error' && m.error.message.includes('text frames'));
      // Still connected and heard: a command goes through.
      const res = await t.api('POST', '/v1/gateways/s-bad/commands', { command: 'status' });
      expect(res.status).toBe(200);
      expect(gw.open).toBe(true);
      await gw.close();
    });

    it('closes a connection that sends an oversized frame (1009), and the gateway can come back', async () => {
      const gw = await t.connect('s-big');
      gw.sendRaw('x'.repeat(MAX_FRAME_BYTES + 1));
      expect((await gw.closed).code).toBe(1009);
      const again = await t.connect('s-big');
      expect((await t.api('POST', '/v1/gateways/s-big/commands', { command: 'status' })).body).toMatchObject({ ok: true });
      await again.close();
    });

    it('refuses messages past the rate limit, and closes a connection that keeps flooding', async () => {
      const gw = await t.connect('s-rate');
      const sent = Array.from({ length: 30 }, () => gw.telemetry());
      const refused = (await gw.waitFor(isError('rate_limited'))) as ErrorMessage;
      expect(sent.map((m) => m.id)).toContain(refused.re);
      await sleep(100);
      expect(gw.open).toBe(true);
      await gw.close();

      const flood = await t.connect('s-flood');
      for (let i = 0; i < 100; i++) flood.telemetry();
      expect(await flood.closed).toEqual({ code: 4008, reason: 'message rate limit exceeded' });
    });

    it('replaces an older connection of the same gateway by a newer one', async () => {
      const first = await t.connect('s-twice');
      await eventually(
        () => t.api('GET', '/v1/gateways/s-twice'),
        (r) => r.body.online === true,
      );
      const second = await t.connect('s-twice');
      expect(await first.closed).toEqual({ code: 4001, reason: 'replaced by a newer connection' });
      expect(t.logs()).toContain('the older connection is replaced');
      expect((await t.api('GET', '/v1/gateways/s-twice')).body).toMatchObject({ online: true });
      await t.api('POST', '/v1/gateways/s-twice/commands', { command: 'replay.pause' });
      expect(second.received.some(isCommand('replay.pause'))).toBe(true);
      expect(first.received.some(isCommand('replay.pause'))).toBe(false);
      await second.close();
    });

    it('terminates a gateway that stops answering pings within two intervals, and shows it offline', async () => {
      const gw = await t.connect('s-hang', { autoPong: false });
      const start = Date.now();
      await gw.closed;
      expect(Date.now() - start).toBeLessThan(2 * 200 + 300);
      const after = await eventually(
        () => t.api('GET', '/v1/gateways/s-hang'),
        (r) => r.body.online === false,
      );
      expect(after.body.online).toBe(false);
      expect(t.logs()).toContain('did not answer the heartbeat');
    });
  });

  describe('ops API', () => {
    it('runs a command end to end and logs who sent it', async () => {
      const gw = await t.connect('s-cmd');
      const res = await t.api('POST', '/v1/gateways/s-cmd/commands', { command: 'replay.setRate', args: { ratePerSec: 10 } });
      expect(res).toMatchObject({ status: 200, body: { gateway: 's-cmd', command: 'replay.setRate', ok: true, result: { command: 'replay.setRate' } } });
      const cmd = gw.received.find(isCommand('replay.setRate'))!;
      expect(cmd.args).toEqual({ ratePerSec: 10 });
      expect(cmd.id).toBe(res.body.id);
      const detail = await t.api('GET', '/v1/gateways/s-cmd');
      expect(detail.body.commands[0]).toMatchObject({ id: res.body.id, command: 'replay.setRate', who: 'ops', role: 'operator', outcome: 'ok' });
      await gw.close();
    });

    it('refuses bad commands: 400 for unknown, invalid args or config.apply; 404 for an unknown gateway', async () => {
      expect((await t.api('POST', '/v1/gateways/s-cmd/commands', { command: 'reboot' })).status).toBe(400);
      const invalid = await t.api('POST', '/v1/gateways/s-cmd/commands', { command: 'replay.setRate', args: { ratePerSec: -1 } });
      expect(invalid).toMatchObject({ status: 400, body: { error: 'invalid_args', message: expect.stringContaining('ratePerSec') } });
      expect((await t.api('POST', '/v1/gateways/s-cmd/commands', { command: 'config.apply', args: { yaml: 'x' } })).body.error).toBe('use_desired_config');
      expect((await t.api('POST', '/v1/gateways/nobody/commands', { command: 'status' })).status).toBe(404);
    });

    it('answers 409 for an offline gateway and 504 when the gateway does not answer', async () => {
      const offline = await t.api('POST', '/v1/gateways/s-cmd/commands', { command: 'replay.pause' });
      expect(offline).toMatchObject({ status: 409, body: { error: 'offline' } });
      const gw = await t.connect('s-mute', { onCommand: () => undefined });
      const started = Date.now();
      const res = await t.api('POST', '/v1/gateways/s-mute/commands', { command: 'replay.pause' });
      expect(res).toMatchObject({ status: 504, body: { error: 'timeout' } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      expect((await t.api('GET', '/v1/gateways/s-mute')).body.commands[0]).toMatchObject({ command: 'replay.pause', outcome: 'timeout' });
      // As many as a gateway may have waiting (commands.maxInFlightPerGateway, 16): one more is not sent, and says which log entry is its.
      const isCommand = (m: { type: string }) => m.type === 'command';
      const before = gw.received.filter(isCommand).length;
      const waiting = Array.from({ length: 16 }, () => t.api('POST', '/v1/gateways/s-mute/commands', { command: 'status' }));
      await eventually(async () => gw.received.filter(isCommand).length, (n) => n === before + 16);
      const full = await t.api('POST', '/v1/gateways/s-mute/commands', { command: 'status' });
      expect(full).toMatchObject({ status: 503, body: { error: 'busy', id: expect.any(String), message: '16 commands already wait for this gateway' } });
      expect(gw.received.filter(isCommand).length).toBe(before + 16);
      expect((await Promise.all(waiting)).map((r) => r.status)).toEqual(Array(16).fill(504));
      const logged = (await t.api('GET', '/v1/gateways/s-mute')).body.commands as { id: string; outcome: string }[];
      expect(logged.find((c) => c.id === full.body.id)).toMatchObject({ outcome: 'busy' });
      await gw.close();
    });

    it('sends a fleet command to a region and aggregates the answers', async () => {
      const n1 = await t.connect('n-1', { region: 'north' });
      const n2 = await t.connect('n-2', { region: 'north', onCommand: () => ({ ok: false, error: { code: 'paused_already', message: 'replay is paused' } }) });
      const n3 = await t.connect('n-3', { region: 'north' });
      await n3.close();
      const south = await t.connect('south-1', { region: 'south' });
      await eventually(
        () => t.api('GET', '/v1/gateways?region=north'),
        (r) => r.body.length === 3 && r.body.filter((g: { online: boolean }) => g.online).length === 2,
      );
      const res = await t.api('POST', '/v1/fleet/commands', { command: 'replay.pause', region: 'north' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ matched: 3, sent: 2, ok: 1, failed: 1, offline: 1, offlineIds: ['n-3'] });
      expect(res.body.results).toEqual(
        expect.arrayContaining([
          { id: 'n-1', ok: true, result: { command: 'replay.pause' } },
          { id: 'n-2', ok: false, error: { code: 'paused_already', message: 'replay is paused' } },
        ]),
      );
      expect(south.received.some(isCommand('replay.pause'))).toBe(false);
      await Promise.all([n1.close(), n2.close(), south.close()]);
    });

    it('lets a viewer read but not act, and nobody in without a token', async () => {
      expect((await t.api('GET', '/v1/gateways', undefined, VIEWER_TOKEN)).status).toBe(200);
      const post = await t.api('POST', '/v1/gateways/s-cmd/commands', { command: 'status' }, VIEWER_TOKEN);
      expect(post).toMatchObject({ status: 403, body: { error: 'forbidden' } });
      expect((await t.api('PUT', '/v1/gateways/s-cmd/config', gatewayYaml('s-cmd', 'x'), VIEWER_TOKEN, 'application/yaml')).status).toBe(403);
      expect((await t.api('GET', '/v1/gateways', undefined, null)).status).toBe(401);
      expect((await t.api('GET', '/v1/gateways', undefined, tokenOf('s-cmd'))).status).toBe(401);
      expect((await t.api('GET', '/healthz', undefined, null)).status).toBe(200);
    });

    describe('unknown outcomes', () => {
      const A = '00000000-0000-4000-8000-0000000000a1';
      const B = '00000000-0000-4000-8000-0000000000b2';
      const outcome = (receipt: string) => ({ receipt, route: 'stock-barcode', cls: 'critical', reason: 'timeout after 8000 ms', attempts: 1 });

      it('keeps the unknown count with telemetry and each unknown outcome event, in the overview and per gateway', async () => {
        const gw = await t.connect('s-unknown');
        gw.unknownOutcome(outcome(A));
        gw.unknownOutcome(outcome(B));
        gw.telemetry();
        // An event with an outcome missing its receipt is refused, and nothing is stored.
        const bad = gw.send({ type: 'event', id: 'uo-bad', ts: Date.now(), event: 'unknown_outcome', details: { route: 'x', cls: 'critical', reason: '', attempts: 1 } });
        expect(await gw.waitFor(isError('invalid', bad.id))).toMatchObject({ error: { message: expect.stringContaining("required property 'receipt'") } });
        const overview = await eventually(
          () => t.api('GET', '/v1/fleet/overview', undefined, VIEWER_TOKEN),
          (r) => r.body.gateways.find((g: { id: string }) => g.id === 's-unknown')?.queue?.unknown === 2,
        );
        expect(overview.body.gateways.find((g: { id: string }) => g.id === 's-unknown').queue).toEqual({ pending: 0, dead: 0, unknown: 2, oldestAgeS: 0, maxAgeS: null, expiryWarning: null });
        const detail = (await t.api('GET', '/v1/gateways/s-unknown', undefined, VIEWER_TOKEN)).body;
        expect(detail.queue.unknown).toBe(2);
        expect(detail.unknownOutcomes.map((e: { details: { receipt: string } }) => e.details.receipt)).toEqual([B, A]);
        expect(detail.unknownOutcomes[0]).toMatchObject({ source: 'gateway', event: 'unknown_outcome', details: outcome(B) });
        expect(detail.settlements).toEqual([]);
        await gw.close();
      });

      it("settles through the ops API with the operator's name as `by`, logged with who and when; viewers refused", async () => {
        const gw = await t.connect('s-unknown');
        gw.unknownOutcome(outcome(A));
        gw.unknownOutcome(outcome(B));
        const before = Date.now();
        // A `by` in the body is not the caller's to give: the hub names the token.
        const res = await t.api('POST', '/v1/gateways/s-unknown/queue/settle', { receipts: [A], as: 'retry', by: 'someone-else' });
        expect(res).toMatchObject({ status: 200, body: { gateway: 's-unknown', command: 'queue.settle', ok: true, result: { results: [{ receipt: A, ok: true, state: 'pending' }] } } });
        expect(gw.received.find(isCommand('queue.settle'))?.args).toEqual({ receipts: [A], as: 'retry', by: 'ops' });
        const delivered = await t.api('POST', '/v1/gateways/s-unknown/queue/settle', { receipts: [B, A], as: 'delivered' });
        expect(delivered.body.result.results).toEqual([
          { receipt: B, ok: true, state: 'delivered' },
          { receipt: A, ok: false, error: 'unknown_receipt' },
        ]);
        expect(gw.settled).toEqual([
          { receipt: A, as: 'retry', by: 'ops' },
          { receipt: B, as: 'delivered', by: 'ops' },
        ]);

        // Refused, and nothing sent: a viewer, bad receipts or verdicts, queue.settle through the command routes (where args.by would be the caller's).
        const sent = gw.received.length;
        expect(await t.api('POST', '/v1/gateways/s-unknown/queue/settle', { receipts: [A], as: 'retry' }, VIEWER_TOKEN)).toMatchObject({ status: 403, body: { error: 'forbidden' } });
        expect(await t.api('POST', '/v1/gateways/s-unknown/queue/settle', { receipts: ['not-a-receipt'], as: 'retry' })).toMatchObject({ status: 400, body: { error: 'invalid_args', message: expect.stringContaining('/receipts/0') } });
        expect((await t.api('POST', '/v1/gateways/s-unknown/queue/settle', { receipts: [A], as: 'discard' })).status).toBe(400);
        expect((await t.api('POST', '/v1/gateways/s-unknown/queue/settle', { receipts: [], as: 'retry' })).status).toBe(400);
        expect((await t.api('POST', '/v1/gateways/nobody/queue/settle', { receipts: [A], as: 'retry' })).status).toBe(404);
        const generic = await t.api('POST', '/v1/gateways/s-unknown/commands', { command: 'queue.settle', args: { receipts: [A], as: 'retry', by: 'forged' } });
        expect(generic).toMatchObject({ status: 400, body: { error: 'use_settle_route' } });
        expect((await t.api('POST', '/v1/fleet/commands', { command: 'queue.settle', args: { receipts: [A], as: 'retry', by: 'forged' } })).body.error).toBe('use_settle_route');
        expect(gw.received.length).toBe(sent);

        // Who settled what, and when: the command log, in the gateway's detail.
        const detail = (await t.api('GET', '/v1/gateways/s-unknown', undefined, VIEWER_TOKEN)).body;
        expect(detail.settlements).toHaveLength(2);
        expect(detail.settlements[0]).toMatchObject({ command: 'queue.settle', who: 'ops', role: 'operator', args: { receipts: [B, A], as: 'delivered', by: 'ops' }, outcome: 'ok' });
        expect(detail.settlements[1]).toMatchObject({ args: { receipts: [A], as: 'retry', by: 'ops' }, outcome: 'ok', result: { results: [{ receipt: A, ok: true }] } });
        for (const c of detail.settlements) expect(c.sentAt).toBeGreaterThanOrEqual(before);
        await gw.close();
        expect(await t.api('POST', '/v1/gateways/s-unknown/queue/settle', { receipts: [A], as: 'retry' })).toMatchObject({ status: 409, body: { error: 'offline' } });
      });
    });

    describe('a backlog near expiry', () => {
      const RECEIPT = '00000000-0000-4000-8000-0000000000e1';
      const near = { fraction: 0.9, oldestAgeS: 546_000, maxAgeS: 604_800, pending: 3 };

      it('keeps the warning with telemetry and the events, in the overview and per gateway; refuses a malformed one, clearly', async () => {
        const gw = await t.connect('s-expiry');
        gw.event('journal.near_expiry', near);
        gw.event('journal.expired', { count: 12_000, maxAgeHours: 168, entries: [{ receipt: RECEIPT, route: 'pos-orders', reason: 'expired: pending longer than 168 h' }] });
        gw.telemetry({ queue: { pending: 3, dead: 12_000, oldestAgeS: 546_000, maxAgeS: 604_800, expiryWarning: 0.9 } });
        const bad = gw.send({ type: 'event', id: 'ne-bad', ts: Date.now(), event: 'journal.near_expiry', details: { ...near, fraction: 1.2 } });
        expect(await gw.waitFor(isError('invalid', bad.id))).toMatchObject({ error: { message: 'event journal.near_expiry: /details/fraction: must be < 1' } });
        const overview = await eventually(
          () => t.api('GET', '/v1/fleet/overview', undefined, VIEWER_TOKEN),
          (r) => r.body.gateways.find((g: { id: string }) => g.id === 's-expiry')?.queue?.expiryWarning === 0.9,
        );
        expect(overview.body.gateways.find((g: { id: string }) => g.id === 's-expiry').queue).toEqual({ pending: 3, dead: 12_000, unknown: null, oldestAgeS: 546_000, maxAgeS: 604_800, expiryWarning: 0.9 });
        const detail = (await t.api('GET', '/v1/gateways/s-expiry', undefined, VIEWER_TOKEN)).body;
        expect(detail.queue).toMatchObject({ maxAgeS: 604_800, expiryWarning: 0.9 });
        expect(detail.events.filter((e: { source: string }) => e.source === 'gateway').map((e: { event: string; details: unknown }) => [e.event, e.details])).toEqual([
          ['journal.expired', { count: 12_000, maxAgeHours: 168, entries: [{ receipt: RECEIPT, route: 'pos-orders', reason: 'expired: pending longer than 168 h' }] }],
          ['journal.near_expiry', near],
        ]);
        // Still connected: a refused message costs the gateway nothing else.
        expect(gw.open).toBe(true);
        await gw.close();
      });
    });

    it('acks telemetry and events once committed to a gateway that asks, and stores a resend once; an older gateway gets no ack', async () => {
      const gw = await t.connect('s-ack', { features: 'acks' });
      expect(gw.hubFeatures).toBe('acks');
      const from = Date.now() - 1000;
      const sample = gw.telemetry();
      const event = gw.event('link.state', { path: 'fiber', from: 'up', to: 'down' });
      const acked = async (id: string) => gw.waitFor((m) => m.type === 'ack' && m.ids.includes(id));
      await acked(sample.id);
      await acked(event.id);
      const history = () => t.api('GET', `/v1/gateways/s-ack/telemetry?since=${from}`);
      expect((await history()).body.points).toHaveLength(1);
      // As after a hub was killed between its commit and its ack: the same messages again, marked spooled. Acked again, kept once.
      const since = gw.received.length;
      gw.send({ ...sample, spooled: true });
      gw.send({ ...event, spooled: true });
      await gw.waitFor((m) => m.type === 'ack' && m.ids.includes(sample.id) && gw.received.indexOf(m) >= since);
      await gw.waitFor((m) => m.type === 'ack' && m.ids.includes(event.id) && gw.received.indexOf(m) >= since);
      expect((await history()).body.points).toHaveLength(1);
      const events = (await t.api('GET', '/v1/gateways/s-ack')).body.events as { event: string }[];
      expect(events.filter((e) => e.event === 'link.state')).toHaveLength(1);
      await gw.close();

      const old = await t.connect('s-noack');
      expect(old.hubFeatures).toBeUndefined();
      old.telemetry();
      await eventually(
        () => t.api('GET', `/v1/gateways/s-noack/telemetry?since=${from}`),
        (r) => r.body.points.length === 1,
      );
      // Stored, and the gateway heard nothing it would not know.
      expect(old.received.map((m) => m.type)).not.toContain('ack');
      await old.close();
    });

        it('keeps telemetry history for a gateway', async () => {
      const gw = await t.connect('s-cmd');
      const from = Date.now();
      gw.telemetry({ ts: from - 5000, spooled: true });
      gw.telemetry();
      const res = await eventually(
        () => t.api('GET', `/v1/gateways/s-cmd/telemetry?since=${from - 10_000}`),
        (r) => r.body.points.length === 2,
      );
      expect(res.body.points.map((p: { resolution: string; spooled?: boolean }) => [p.resolution, p.spooled ?? false])).toEqual([
        ['raw', true],
        ['raw', false],
      ]);
      await gw.close();
    });
  });

  describe('desired config', () => {
    it('refuses a config that is invalid or names another store', async () => {
      const invalid = await t.api('PUT', '/v1/gateways/s-desired/config', gatewayYaml('s-desired', 'x').replace('class: normal', 'class: urgent'), OPS_TOKEN, 'application/yaml');
      expect(invalid).toMatchObject({ status: 400, body: { error: 'invalid_config', problems: [expect.stringContaining('s-desired.yaml:routes[0].class')] } });
      const other = await t.api('PUT', '/v1/gateways/s-desired/config', { yaml: gatewayYaml('s-cmd', 'x') });
      expect(other).toMatchObject({ status: 400, body: { problems: [expect.stringContaining('store.id: is "s-cmd"')] } });
      expect((await t.api('PUT', '/v1/gateways/nobody/config', { yaml: gatewayYaml('nobody', 'x') })).status).toBe(404);
    });

    it('gives a gateway that was offline its desired config when it connects', async () => {
      const yaml = gatewayYaml('s-desired', 'west');
      const put = await t.api('PUT', '/v1/gateways/s-desired/config', yaml, OPS_TOKEN, 'application/yaml');
      expect(put).toMatchObject({ status: 202, body: { online: false, fullyChecked: true, config: { desired: { applyStatus: 'pending' } } } });
      const version = put.body.version as string;

      const gw = await t.connect('s-desired', { configVersion: 'old000000000' });
      const apply = (await gw.waitFor(isCommand('config.apply'))) as CommandMessage;
      expect(apply.args).toEqual({ yaml });
      const detail = await eventually(
        () => t.api('GET', '/v1/gateways/s-desired'),
        (r) => r.body.config.inSync === true && r.body.config.desired.applyStatus === 'applied',
      );
      expect(detail.body.config).toMatchObject({ desired: { version, applyStatus: 'applied', setBy: 'ops' }, reported: version, inSync: true });
      expect(detail.body.commands[0]).toMatchObject({ command: 'config.apply', who: 'desired-state', args: { version } });

      // In sync: reconnecting sends nothing.
      await gw.close();
      const again = await t.connect('s-desired', { configVersion: version });
      await sleep(200);
      expect(again.received.some(isCommand('config.apply'))).toBe(false);
      await again.close();
    });
  });

  describe('staged rollout', () => {
    const shared = gatewayYaml('"${STORE_ID}"', 'rollout');
    const version = sha(shared).slice(0, 12);

    async function waitDone(id: string) {
      const r = await eventually(
        () => t.api('GET', `/v1/fleet/rollouts/${id}`),
        (x) => !['canary', 'rolling'].includes(x.body.status),
        10_000,
      );
      return r.body;
    }

    it('stops when the canary refuses the config, and leaves the rest untouched', async () => {
      const canary = await t.connect('r-1', { region: 'roll', onCommand: (c) => (c.command === 'config.apply' ? { ok: false, error: { code: 'invalid', message: 'journal path not writable' } } : { ok: true }) });
      const rest = await Promise.all(['r-2', 'r-3'].map((id) => t.connect(id, { region: 'roll' })));
      const started = await t.api('POST', '/v1/fleet/rollouts', { yaml: shared, region: 'roll', canary: ['r-1'], healthyForMs: 300 });
      expect(started).toMatchObject({ status: 202, body: { status: 'canary', version, canaries: [{ id: 'r-1' }], rest: { total: 2, untouched: 2 } } });
      const done = await waitDone(started.body.id);
      expect(done).toMatchObject({ status: 'failed', reason: 'canary r-1: config.apply failed: invalid: journal path not writable', rest: { untouched: 2, applied: 0 } });
      expect(canary.received.some(isCommand('config.apply'))).toBe(true);
      for (const gw of rest) expect(gw.received.some(isCommand('config.apply'))).toBe(false);
      // The canary's desired config is what it was before (none), so a reconnect does not push it again.
      expect((await t.api('GET', '/v1/gateways/r-1')).body.config.desired).toBeNull();
      expect((await t.api('GET', '/v1/gateways/r-2')).body.config.desired).toBeNull();
      await Promise.all([canary, ...rest].map((g) => g.close()));
    });

    it('stops when a canary rolls the config back during the watch', async () => {
      const canary = await t.connect('k-1', {
        region: 'roll2',
        onCommand: (c, gw) => {
          if (c.command === 'config.apply') setTimeout(() => gw.event('config.rolled_back', { reason: 'path fiber went down' }), 50);
          return { ok: true };
        },
      });
      const rest = await Promise.all(['k-2', 'k-3'].map((id) => t.connect(id, { region: 'roll2' })));
      const started = await t.api('POST', '/v1/fleet/rollouts', { yaml: shared, region: 'roll2', canaryCount: 1, healthyForMs: 1000 });
      expect(started.body.canaries).toEqual([{ id: 'k-1', state: 'applying' }]);
      const done = await waitDone(started.body.id);
      expect(done).toMatchObject({ status: 'failed', reason: 'canary k-1: the gateway rolled the config back' });
      for (const gw of rest) expect(gw.received.some(isCommand('config.apply'))).toBe(false);
      await Promise.all([canary, ...rest].map((g) => g.close()));
    });

    it('rolls out to the rest once the canary stayed healthy; an offline gateway gets it when it connects', async () => {
      const gws = await Promise.all(['k-1', 'k-2'].map((id) => t.connect(id, { region: 'roll2' })));
      await eventually(
        () => t.api('GET', '/v1/gateways?region=roll2&state=online'),
        (r) => r.body.length === 2,
      );
      const started = await t.api('POST', '/v1/fleet/rollouts', { yaml: shared, region: 'roll2', canary: ['k-1'], healthyForMs: 300 });
      expect(started.status).toBe(202);
      expect((await t.api('POST', '/v1/fleet/rollouts', { yaml: shared, region: 'roll2', healthyForMs: 300 })).status).toBe(409);
      const done = await waitDone(started.body.id);
      expect(done).toMatchObject({ status: 'completed', canaries: [{ id: 'k-1', state: 'healthy', reported: version }], rest: { total: 2, applied: 1, pending: 1, failed: 0, untouched: 0 } });
      expect(gws[1]!.received.some(isCommand('config.apply'))).toBe(true);
      const late = await t.connect('k-3', { region: 'roll2' });
      await late.waitFor(isCommand('config.apply'));
      await Promise.all([...gws, late].map((g) => g.close()));
    });
  });

  describe('storegw fleet', () => {
    const run = promisify(execFile);
    const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      try {
        const { stdout } = await run(process.execPath, [CLI, 'fleet', ...args], { env: { PATH: process.env.PATH, ...env } });
        return { code: 0, out: stdout };
      } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, out: err.stdout + err.stderr };
      }
    };

    it('lists, shows and sends, with exit codes', async () => {
      const gw = await t.connect('s-cmd', { region: 'cli' });
      const env = { STOREGW_HUB_URL: t.hub.url, STOREGW_HUB_TOKEN_FILE: join(t.dir, 'ops.token') };
      const ls = await cli(['ls', '--region', 'cli'], env);
      expect(ls.code).toBe(0);
      expect(ls.out).toMatch(/^s-cmd\s+cli\s+UP\s+/m);
      const show = await cli(['show', 's-cmd', '--json'], env);
      expect(JSON.parse(show.out)).toMatchObject({ id: 's-cmd', online: true });
      const send = await cli(['send', 's-cmd', 'replay.setRate', '--args', '{"ratePerSec":5}'], env);
      expect(send).toMatchObject({ code: 0, out: expect.stringContaining('s-cmd: ok') });
      const fleet = await cli(['send', '--region', 'cli', 'replay.resume'], env);
      expect(fleet).toMatchObject({ code: 0, out: expect.stringContaining('sent to 1: 1 ok, 0 failed') });
      const viewer = await cli(['send', 's-cmd', 'replay.pause', '--hub', t.hub.url, '--token-file', join(t.dir, 'viewer.token')]);
      expect(viewer).toMatchObject({ code: 1, out: expect.stringContaining('answered 403') });
      expect((await cli(['ls'], { STOREGW_HUB_URL: t.hub.url })).code).toBe(2);
      await gw.close();
    });
  });

  it('keeps the registry, desired configs and the command log across a restart, and never logs a secret', async () => {
    await t.restart();
    const list = await t.api('GET', '/v1/gateways');
    expect(list.body.length).toBeGreaterThan(5);
    expect(list.body.every((g: { online: boolean }) => !g.online)).toBe(true);
    // Pages of 2, each naming the next in its Link header, give the same list; the whole list names none.
    expect(list.link).toBeUndefined();
    const paged: string[] = [];
    for (let next: string | undefined = '/v1/gateways?limit=2'; next !== undefined; ) {
      const page = await t.api('GET', next);
      expect(page.body.length).toBeLessThanOrEqual(2);
      paged.push(...page.body.map((g: { id: string }) => g.id));
      next = page.link === undefined ? undefined : /^<([^>]+)>; rel="next"$/.exec(page.link)![1];
    }
    expect(paged).toEqual(list.body.map((g: { id: string }) => g.id));
    const detail = await t.api('GET', '/v1/gateways/s-desired');
    expect(detail.body.config.desired).toMatchObject({ applyStatus: 'applied' });
    expect(detail.body.commands.length).toBeGreaterThan(0);
    const gw = await t.connect('s-list');
    expect((await t.api('GET', '/v1/gateways/s-list')).body.online).toBe(true);
    await gw.close();
    for (const secret of [OPS_TOKEN, VIEWER_TOKEN, ...IDS.map(tokenOf), ...secrets()]) expect(t.logs()).not.toContain(secret);
  });

  it('disconnects a gateway whose token a reload of the tokens file removed', async () => {
    const kept = await t.connect('s-auth');
    const revoked = await t.connect('s-list');
    await eventually(
      () => t.api('GET', '/v1/gateways?state=online'),
      (r) => r.body.length === 2,
    );
    writeFileSync(join(t.dir, 'gateway-tokens.yaml'), `s-auth: ${tokenOf('s-auth')}\n`, { mode: 0o600 });
    t.hub.reloadTokens();
    expect(await revoked.closed).toEqual({ code: 4401, reason: 'token revoked' });
    expect(kept.open).toBe(true);
    const url = `${t.hub.url.replace('http', 'ws')}/v1/gateways/connect`;
    expect(await FakeGateway.refusal({ url, token: tokenOf('s-list'), id: 's-list' })).toBe(401);
    await kept.close();
  });
}

describe('fleet hub', () => fleetHub(() => 'path: ./hub.db'));

describePostgres('fleet hub on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(() => {
    db = createTestDatabase();
  });
  afterAll(() => db?.drop());
  fleetHub(
    () => `postgres: ${JSON.stringify(db.config)}`,
    () => [readFileSync(db.config.passwordFile!, 'utf8').trim()],
  );
});
