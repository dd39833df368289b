// What the dashboard reads from the hub, without a browser: who the token is,
// the fleet overview with every path's figures and the counts, a gateway's
// events since a time; the page and its files open to all, the API to tokens
// only, viewers refused every change, and no token in the hub's log.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGateway } from '../support/fake-gateway.js';
import { eventually } from '../support/pos.js';
import { OPERATOR_TOKEN, VIEWER_TOKEN, gatewayToken, startTestFleet, type TestFleet } from './fleet-setup.js';

let fleet: TestFleet;
const fakes: FakeGateway[] = [];

async function api(path: string, token: string | null = OPERATOR_TOKEN, method: 'GET' | 'POST' = 'GET', body?: unknown) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(`${fleet.hub.url}${path}`, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text, headers: res.headers };
}

async function connect(id: string, region: string): Promise<FakeGateway> {
  const gw = await FakeGateway.connect({ url: `${fleet.hub.url.replace('http', 'ws')}/v1/gateways/connect`, token: gatewayToken(id), id, region });
  fakes.push(gw);
  return gw;
}

beforeAll(async () => {
  fleet = await startTestFleet([], ['f-up', 'f-degraded', 'f-down', 'f-gone']);
});

afterAll(async () => {
  for (const g of fakes) if (g.open) await g.close();
  await fleet.close();
});

describe('the dashboard API', () => {
  it('tells the token its role and name, and refuses no token', async () => {
    expect((await api('/v1/whoami')).body).toEqual({ role: 'operator', name: 'ops-alice' });
    expect((await api('/v1/whoami', VIEWER_TOKEN)).body).toEqual({ role: 'viewer', name: 'noc-screen' });
    expect((await api('/v1/whoami', null)).status).toBe(401);
    expect((await api('/v1/whoami', 'not-a-token-at-all-000000')).status).toBe(401);
    expect((await api('/v1/fleet/overview', null)).status).toBe(401);
  });

  it('serves the page and its files without a token', async () => {
    for (const path of ['/', '/assets/app.js', '/assets/vendor/uplot.js']) expect((await api(path, null)).status, path).toBe(200);
  });

  it('gives the whole fleet in one read: every path with its figures, the queue, and the counts', async () => {
    const up = await connect('f-up', 'eu-west');
    const degraded = await connect('f-degraded', 'eu-west');
    degraded.paths[1]!.state = 'degraded';
    const down = await connect('f-down', 'eu-south');
    for (const p of down.paths) Object.assign(p, { state: 'down', score: 0, rttMs: null, lossPct: 100 });
    const gone = await connect('f-gone', 'eu-south');
    down.queue = { pending: 12, dead: 1, oldestAgeS: 340 };
    for (const g of [up, degraded, down, gone]) g.telemetry();
    await gone.close();
    await eventually(async () => expect((await api('/v1/fleet/overview')).body.counts).toEqual({ total: 4, up: 1, degraded: 1, down: 1, offline: 1 }), 5000);
    const o = (await api('/v1/fleet/overview', VIEWER_TOKEN)).body;
    expect(o.now).toBeGreaterThan(0);
    const byId = Object.fromEntries(o.gateways.map((g: { id: string }) => [g.id, g]));
    expect(byId['f-down']).toMatchObject({
      region: 'eu-south',
      online: true,
      state: 'down',
      queue: { pending: 12, dead: 1, oldestAgeS: 340 },
      paths: [
        { name: 'fiber', state: 'down', score: 0, rttMs: null, jitterMs: 1, lossPct: 100 },
        { name: 'lte', state: 'down', score: 0, rttMs: null, jitterMs: 6, lossPct: 100 },
      ],
    });
    expect(byId['f-up'].paths[0]).toEqual({ name: 'fiber', state: 'up', score: 98, rttMs: 12, jitterMs: 1, lossPct: 0 });
    expect(byId['f-gone']).toMatchObject({ online: false, state: 'offline' });
    // The existing list is as it was: path names and states only.
    const list = (await api('/v1/gateways')).body;
    expect(list.find((g: { id: string }) => g.id === 'f-up').paths[0]).toEqual({ name: 'fiber', state: 'up' });
  });

  it("answers a gateway's events since a time, oldest first, at most `limit` (the newest)", async () => {
    const g = fakes.find((f) => f.id === 'f-up')!;
    const before = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 5; i++) g.event('link.state', { path: 'fiber', from: 'up', to: i % 2 ? 'up' : 'down', n: i });
    await eventually(async () => expect((await api(`/v1/gateways/f-up/events?since=${before}`)).body.events).toHaveLength(5), 5000);
    const all = (await api(`/v1/gateways/f-up/events?since=${before}`, VIEWER_TOKEN)).body;
    expect(all).toMatchObject({ id: 'f-up', since: before, truncated: false });
    expect(all.events.map((e: { details: { n: number } }) => e.details.n)).toEqual([0, 1, 2, 3, 4]);
    const two = (await api(`/v1/gateways/f-up/events?since=${before}&limit=2`)).body;
    expect(two.truncated).toBe(true);
    expect(two.events.map((e: { details: { n: number } }) => e.details.n)).toEqual([3, 4]);
    // Without since: the last hour, the hub's own connect event included.
    expect((await api('/v1/gateways/f-up/events')).body.events[0].event).toBe('hub.connected');
    expect((await api('/v1/gateways/nobody/events')).status).toBe(404);
    expect((await api('/v1/gateways/f-up/events?limit=0')).status).toBe(400);
  });

  it("refuses a viewer's commands, to one gateway and to a region", async () => {
    const one = await api('/v1/gateways/f-up/commands', VIEWER_TOKEN, 'POST', { command: 'replay.pause', args: {} });
    const region = await api('/v1/fleet/commands', VIEWER_TOKEN, 'POST', { command: 'replay.setRate', args: { ratePerSec: 5 }, region: 'eu-west' });
    expect([one.status, region.status]).toEqual([403, 403]);
    const g = fakes.find((f) => f.id === 'f-up')!;
    expect(g.received.filter((m) => m.type === 'command')).toEqual([]);
  });

  it('never writes a token to its log', () => {
    expect(fleet.hubLogs()).toContain('gateway connected');
    for (const t of [OPERATOR_TOKEN, VIEWER_TOKEN, gatewayToken('f-up')]) expect(fleet.hubLogs()).not.toContain(t);
  });
});
