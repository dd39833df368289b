// The fleet hub's doors: every ops API route answers 401 without an ops token
// or with a wrong one (a gateway's token, a digest, another scheme...), a
// viewer may read but every change it tries is 403 and changes nothing, and a
// gateway's token opens only that gateway's own connection: it cannot speak
// for another gateway (hello with another id, a second hello, messages before
// hello), nor call the ops API. Extends test/integration/hub.test.ts.
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import { startHub, type RunningHub } from '../../src/fleet/hub/server.js';
import type { ErrorMessage, HubMessage } from '../../src/fleet/protocol.js';
import { createLogger } from '../../src/log.js';
import { FakeGateway } from '../support/fake-gateway.js';
import { tempDir } from '../support/gateway.js';
import { rawRequest } from '../fuzz/raw-http.js';

const OPERATOR = 'operator-token-4Gk9sWq2LmZx7Rt1';
const VIEWER = 'viewer-token-8Hn3dVb6PoQe5Yc0';
const IDS = ['victim', 'attacker', 'other', 'early'];
const tokenOf = (id: string) => `gw-token-${id}-Jf7Kq2Xw9Lm4`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** Polls `ok` until it holds (5 s at most). */
async function until(ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await ok()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
const YAML = (id: string) => `version: 1
store: { id: ${id}, region: r }
gateway: { listen: { port: 8080 }, admin: { port: 9080 } }
paths: [ { name: fiber, baseUrl: "http://10.60.0.1" } ]
routes: [ { name: all, match: { path: "/*" }, class: normal } ]
`;

describe('fleet hub: authentication and authorisation', () => {
  let hub: RunningHub;
  let dir: string;
  const lines: string[] = [];
  const wsUrl = () => `${hub.url.replace('http', 'ws')}/v1/gateways/connect`;
  const api = async (method: string, path: string, token: string | null, body?: unknown, extra: Record<string, string> = {}) => {
    const headers: Record<string, string> = { ...extra };
    if (token !== null) headers.authorization = token.includes(' ') ? token : `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] ??= typeof body === 'string' ? 'application/yaml' : 'application/json';
    const res = await request(`${hub.url}${path}`, { method: method as 'GET', headers, body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.body.text();
    return { status: res.statusCode, text, headers: res.headers };
  };

  beforeAll(async () => {
    dir = tempDir('storegw-hub-sec-');
    writeFileSync(join(dir, 'gateways.yaml'), IDS.map((id, i) => `${id}: ${i % 2 === 0 ? tokenOf(id) : `"sha256:${sha(tokenOf(id))}"`}`).join('\n') + '\n', { mode: 0o600 });
    writeFileSync(join(dir, 'operator.token'), `${OPERATOR}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'viewer.token'), `${VIEWER}\n`, { mode: 0o600 });
    writeFileSync(
      join(dir, 'hub.yaml'),
      `version: 1
listen: { host: 127.0.0.1, port: 0 }
store: { path: ./data/hub.db, flushIntervalMs: 20 }
auth:
  gatewayTokensFile: gateways.yaml
  opsTokens: [ { tokenFile: operator.token, role: operator }, { tokenFile: viewer.token, role: viewer } ]
connections: { heartbeatIntervalMs: 1000, helloTimeoutMs: 3000 }
commands: { timeoutMs: 1000, configApplyTimeoutMs: 2000 }
`,
    );
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    hub = await startHub(loadHubConfig(join(dir, 'hub.yaml')), createLogger({ level: 'debug', destination }));
  });
  afterAll(async () => {
    await hub?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const READS: [string, string][] = [
    ['GET', '/v1/gateways'],
    ['GET', '/v1/gateways?region=r&state=online'],
    ['GET', '/v1/gateways/victim'],
    ['GET', '/v1/gateways/victim/telemetry'],
    ['GET', '/v1/fleet/rollouts/some-rollout'],
  ];
  const WRITES: [string, string, unknown][] = [
    ['POST', '/v1/gateways/victim/commands', { command: 'replay.pause' }],
    ['POST', '/v1/gateways/victim/commands', { command: 'queue.discard', args: { receipts: ['00000000-0000-0000-0000-000000000000'] } }],
    ['POST', '/v1/fleet/commands', { command: 'replay.pause' }],
    ['PUT', '/v1/gateways/victim/config', YAML('victim')],
    ['PUT', '/v1/gateways/victim/config', { yaml: YAML('victim') }],
    ['POST', '/v1/fleet/rollouts', { yaml: YAML('victim'), canary: ['victim'] }],
    ['DELETE', '/v1/gateways/victim', undefined],
    ['PATCH', '/v1/gateways/victim/config', { yaml: YAML('victim') }],
  ];
  const WRONG: [string, string | null][] = [
    ['no Authorization', null],
    ['a wrong token', 'Bearer not-an-ops-token-at-all-0000'],
    ['a gateway token', `Bearer ${tokenOf('victim')}`],
    ['the operator token with a suffix', `Bearer ${OPERATOR}x`],
    ['the operator token in another case', `Bearer ${OPERATOR.toUpperCase()}`],
    ["the operator token's sha256", `Bearer ${sha(OPERATOR)}`],
    ['the operator token as Basic', `Basic ${Buffer.from(`op:${OPERATOR}`).toString('base64')}`],
    ['the operator token without a scheme', `X ${OPERATOR}`],
    ['Bearer and nothing', 'Bearer '],
  ];

  let victim: FakeGateway;
  beforeAll(async () => {
    victim = await FakeGateway.connect({ url: wsUrl(), token: tokenOf('victim'), id: 'victim', region: 'r', tags: ['shop'] });
    await until(async () => (await api('GET', '/v1/gateways/victim', OPERATOR)).status === 200);
  });
  afterAll(async () => {
    if (victim?.open) await victim.close();
  });

  const commandsSent = () => victim.received.filter((m) => m.type === 'command').length;

  describe('ops API', () => {
    it.each([...READS.map(([m, p]) => [m, p, undefined] as const), ...WRITES])('%s %s: 401 for every wrong Authorization', async (method, path, body) => {
      for (const [what, token] of WRONG) {
        const r = await api(method, path, token, body);
        expect(r.status, `${what}: ${r.text}`).toBe(401);
        expect(String(r.headers['www-authenticate'])).toMatch(/^Bearer /);
      }
      expect(commandsSent()).toBe(0);
    });

    it.each(READS)('a viewer may %s %s', async (method, path) => {
      const r = await api(method, path, VIEWER);
      expect([200, 404]).toContain(r.status);
    });

    it.each(WRITES)('a viewer trying %s %s gets 403, and nothing changes', async (method, path, body) => {
      const r = await api(method, path, VIEWER, body);
      expect(r.status, r.text).toBe(403);
      expect(JSON.parse(r.text)).toMatchObject({ error: 'forbidden' });
      // Nor with a method override header some frameworks honour.
      const overridden = await api(method, path, VIEWER, body, { 'x-http-method-override': 'GET' });
      expect(overridden.status).toBe(403);
      expect(commandsSent()).toBe(0);
      const detail = JSON.parse((await api('GET', '/v1/gateways/victim', OPERATOR)).text) as { commands: unknown[]; config: { desired: unknown }; desiredConfigVersion: unknown };
      expect(detail.commands).toEqual([]);
      expect(detail.config.desired ?? null).toBeNull();
      expect(detail.desiredConfigVersion).toBeNull();
    });

    it('the operator token acts (the control: the doors above are shut, not broken)', async () => {
      const r = await api('POST', '/v1/gateways/victim/commands', OPERATOR, { command: 'status' });
      expect(r.status, r.text).toBe(200);
      expect(commandsSent()).toBe(1);
    });
  });

  describe('gateway tokens', () => {
    const isError = (code: string) => (m: HubMessage) => m.type === 'error' && m.error.code === code;

    it("a hello naming another gateway is refused and closed; the other gateway's live connection and record stay as they were", async () => {
      const before = JSON.parse((await api('GET', '/v1/gateways/victim', OPERATOR)).text) as { region: string; tags: string[]; online: boolean };
      const spoof = await FakeGateway.connect({ url: wsUrl(), token: tokenOf('attacker'), id: 'victim', region: 'evil', tags: ['pwned'] });
      const error = (await spoof.waitFor(isError('wrong_gateway'))) as ErrorMessage;
      expect(error.error.message).toContain('belongs to gateway attacker');
      expect((await spoof.closed).code).toBe(4003);
      expect(victim.open).toBe(true);
      const after = JSON.parse((await api('GET', '/v1/gateways/victim', OPERATOR)).text) as typeof before;
      expect(after).toMatchObject({ region: before.region, tags: before.tags, online: true });
      // The attacker's own id was never registered by the refused hello.
      expect((await api('GET', '/v1/gateways/attacker', OPERATOR)).status).toBe(404);
      // Commands for the victim still reach the victim.
      const r = await api('POST', '/v1/gateways/victim/commands', OPERATOR, { command: 'status' });
      expect(r.status).toBe(200);
    });

    it('a second hello naming another gateway, after a valid one, closes the connection and changes nothing of the other', async () => {
      const gw = await FakeGateway.connect({ url: wsUrl(), token: tokenOf('other'), id: 'other', region: 'r' });
      await until(async () => (await api('GET', '/v1/gateways/other', OPERATOR)).status === 200);
      gw.sendRaw(JSON.stringify({ type: 'hello', id: 'h-2', ts: Date.now(), store: { id: 'victim', region: 'evil', tags: [] }, version: 'x', configVersion: 'x', paths: [] }));
      await gw.waitFor(isError('wrong_gateway'));
      expect((await gw.closed).code).toBe(4003);
      expect(victim.open).toBe(true);
      const victimNow = JSON.parse((await api('GET', '/v1/gateways/victim', OPERATOR)).text) as { region: string; online: boolean };
      expect(victimNow).toMatchObject({ region: 'r', online: true });
    });

    it('messages before hello are refused and recorded nowhere', async () => {
      const gw = await FakeGateway.connect({ url: wsUrl(), token: tokenOf('early'), id: 'early', hello: false });
      gw.telemetry();
      gw.event('journal.error', { note: 'forged' });
      await gw.waitFor(isError('hello_required'));
      await gw.close();
      expect((await api('GET', '/v1/gateways/early', OPERATOR)).status).toBe(404);
    });

    it.each<[string, string]>([
      ['the operator token', `Bearer ${OPERATOR}`],
      ['the viewer token', `Bearer ${VIEWER}`],
      ['the sha256 kept in the tokens file', `Bearer sha256:${sha(tokenOf('attacker'))}`],
      ['the bare digest', `Bearer ${sha(tokenOf('attacker'))}`],
      ['a gateway token in another case', `Bearer ${tokenOf('victim').toUpperCase()}`],
      ['a gateway token with a suffix', `Bearer ${tokenOf('victim')}0`],
      ['a gateway token as Basic', `Basic ${Buffer.from(`victim:${tokenOf('victim')}`).toString('base64')}`],
      ['no Authorization', ''],
    ])('%s on the websocket upgrade: 401 before the handshake', async (_what, authorization) => {
      const r = await rawRequest(
        hub.url,
        `GET /v1/gateways/connect HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${authorization ? `Authorization: ${authorization}\r\n` : ''}\r\n`,
      );
      expect(r.status).toBe(401);
    });

    it('a gateway token in the query string is not a credential', async () => {
      const r = await rawRequest(
        hub.url,
        `GET /v1/gateways/connect?token=${tokenOf('victim')}&access_token=${tokenOf('victim')} HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
      expect(r.status).toBe(401);
    });
  });

  it('no token reached the hub log', () => {
    const log = lines.join('');
    for (const secret of [OPERATOR, VIEWER, ...IDS.map(tokenOf)]) expect(log).not.toContain(secret);
  });
});
