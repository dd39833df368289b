// The staff page and its JSON twin on the LAN port, over real sockets: a real
// gateway answers them itself (the ERP never sees /.storegw/, though a route
// matches every path), to admitted devices only, read-only, never cached; and
// they tell the ERP's reachability and the journal's backlog as they are.
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually, posOrderBody, posOrdersRoute } from '../support/pos.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const TILL = { 'x-device-token': 'till-token-000000000001' };
const DEVICES = { 'devices.yaml': 'till-1: till-token-000000000001\n' };

/** Two probed uplinks to `upstream`, device tokens required (or `devices` instead), and a route that matches every path. */
function yaml(upstream: string, devices = '  devices: { tokensFile: devices.yaml }'): string {
  const probe = `{ url: "${upstream}/ping", intervalMs: 100, fastIntervalMs: 20, timeoutMs: 1000, minTimeoutMs: 300 }`;
  return `version: 1
store: { id: store-0042, region: test }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
${devices}
paths:
  - name: fiber
    baseUrl: ${upstream}
    probe: ${probe}
  - name: lte
    baseUrl: ${upstream}
    probe: ${probe}
    metered: true
routes:
${posOrdersRoute(300)}
  - name: everything-else
    match: { path: /** }
    class: normal
buffer: { path: ./journal.db }
cache: { path: ./cache.db }
link: { downAfter: 2, upAfter: 2 }
`;
}

async function get(url: string, headers: Record<string, string> = TILL, method: 'GET' | 'HEAD' = 'GET') {
  const res = await request(url, { method, headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const VIEW_KEYS = ['advice', 'at', 'connection', 'headline', 'online', 'orders', 'store', 'updated', 'uplinks'];
const ORDERS_KEYS = ['beingChecked', 'needAttention', 'oldestWaitingS', 'oldestWaitingWords', 'waiting', 'words'];
const UPLINK_KEYS = ['name', 'since', 'state', 'words'];

let erp: TestUpstream | undefined;
let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  await erp?.close();
  gw = undefined;
  erp = undefined;
});

describe('staff page on the LAN port', () => {
  it('serves the page and its JSON twin itself, uncached, and forwards nothing of /.storegw/', async () => {
    erp = await startUpstream();
    gw = await startTestGateway(yaml(erp.url), DEVICES);
    const base = gw.gw.url;
    await eventually(async () => expect(JSON.parse((await get(`${base}/.storegw/status.json`)).text)).toMatchObject({ connection: 'online' }));

    const json = await get(`${base}/.storegw/status.json`);
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.headers['cache-control']).toBe('no-store');
    const view = JSON.parse(json.text) as Record<string, unknown> & { orders: Record<string, unknown>; uplinks: Record<string, unknown>[] };
    expect(Object.keys(view).sort()).toEqual(VIEW_KEYS);
    expect(Object.keys(view.orders).sort()).toEqual(ORDERS_KEYS);
    expect(view.uplinks.map((u) => Object.keys(u).sort())).toEqual([UPLINK_KEYS, UPLINK_KEYS]);
    expect(view).toMatchObject({
      store: 'store-0042',
      online: true,
      connection: 'online',
      headline: 'The store is online.',
      advice: null,
      uplinks: [
        { name: 'fiber', state: 'up', words: 'working' },
        { name: 'lte', state: 'up', words: 'working' },
      ],
      orders: { waiting: 0, beingChecked: 0, needAttention: 0, oldestWaitingS: null, oldestWaitingWords: null, words: ['No orders waiting: everything has been sent.'] },
    });
    expect(Math.abs(Date.parse(view.at as string) - Date.now())).toBeLessThan(5000);

    const page = await get(`${base}/.storegw/status`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-/);
    expect(page.text).toContain('<section id="store" class="online">\n<h1 id="headline">The store is online.</h1>');
    expect(page.text).toContain('<strong>fiber</strong>: working');

    const head = await get(`${base}/.storegw/status`, TILL, 'HEAD');
    expect([head.status, head.headers['content-type'], head.headers['cache-control'], head.text]).toEqual([200, 'text/html; charset=utf-8', 'no-store', '']);
    // A query string changes nothing; the prefix percent-encoded is still the gateway's (classification reads the decoded path too).
    expect((await get(`${base}/.storegw/status.json?pos=till-1`)).status).toBe(200);
    expect((await get(`${base}/%2Estoregw/status.json`)).status).toBe(200);
    const other = await get(`${base}/.storegw/admin`);
    expect([other.status, JSON.parse(other.text).error]).toEqual([404, 'not_found']);
    expect((await get(`${base}/.storegw`)).status).toBe(404);

    // The ERP saw its probes only; the same route forwards a path that merely starts alike.
    const asked = () => erp!.seen.map((r) => r.url).filter((u) => u !== '/ping');
    expect(asked()).toEqual([]);
    expect((await get(`${base}/.storegwx/status`)).status).toBe(200);
    expect(asked()).toEqual(['/.storegwx/status']);
  });

  it('admits devices as for any LAN request: the device token where one is required, the allowed networks', async () => {
    erp = await startUpstream();
    gw = await startTestGateway(yaml(erp.url), DEVICES);
    for (const path of ['/.storegw/status', '/.storegw/status.json']) {
      const none = await get(`${gw.gw.url}${path}`, {});
      expect([none.status, JSON.parse(none.text).error]).toEqual([403, 'forbidden']);
      expect((await get(`${gw.gw.url}${path}`, { 'x-device-token': 'not-a-till-token-0001' })).status).toBe(403);
      // Nothing of the store in a refusal.
      expect(none.text).not.toContain('store-0042');
      expect((await get(`${gw.gw.url}${path}`)).status).toBe(200);
    }
    expect(gw.logs()).toContain('device refused');
    await gw.close();

    gw = await startTestGateway(yaml(erp.url, '  devices: { allowCidrs: [10.0.0.0/8] }'));
    expect((await get(`${gw.gw.url}/.storegw/status.json`, {})).status).toBe(403);
    expect(erp.seen.map((r) => r.url).filter((u) => u !== '/ping')).toEqual([]);
  });

  it('is read-only: 405 to anything but GET and HEAD, with nothing sent upstream', async () => {
    erp = await startUpstream();
    gw = await startTestGateway(yaml(erp.url), DEVICES);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
      for (const path of ['/.storegw/status', '/.storegw/status.json']) {
        const res = await request(`${gw.gw.url}${path}`, { method, headers: { ...TILL, 'content-type': 'application/json' }, body: method === 'OPTIONS' ? null : '{"online":false}' });
        const body = (await res.body.json()) as { error: string };
        expect([method, path, res.statusCode, res.headers.allow, body.error]).toEqual([method, path, 405, 'GET, HEAD', 'method_not_allowed']);
      }
    }
    expect(erp.seen.map((r) => r.url).filter((u) => u !== '/ping')).toEqual([]);
  });

  it('says the store is offline, since when each uplink is down, and how many orders wait', async () => {
    erp = await startUpstream();
    const deadUrl = erp.url;
    await erp.close();
    erp = undefined;
    gw = await startTestGateway(yaml(deadUrl), DEVICES);
    const view = async () => JSON.parse((await get(`${gw!.gw.url}/.storegw/status.json`)).text) as { online: boolean; connection: string; headline: string; advice: string | null; uplinks: { words: string }[]; orders: { waiting: number; words: string[] } };
    await eventually(async () => expect((await view()).connection).toBe('offline'));
    for (const uuid of ['order-a', 'order-b']) {
      const res = await request(`${gw.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, { method: 'POST', headers: { ...TILL, 'content-type': 'application/json' }, body: posOrderBody(uuid) });
      await res.body.dump();
      expect(res.statusCode).toBe(202);
    }
    const v = await view();
    expect(v.online).toBe(false);
    expect([v.headline, v.advice]).toEqual(['The store is offline.', 'Keep selling: orders are kept in the store and sent when the connection is back.']);
    expect(v.uplinks.map((u) => u.words)).toEqual([expect.stringMatching(/^down since \d\d:\d\d$/), expect.stringMatching(/^down since \d\d:\d\d$/)]);
    expect(v.orders.waiting).toBe(2);
    expect(v.orders.words).toEqual(['2 orders waiting to be sent; the oldest has waited less than a minute.']);
    // Neither answer names where the ERP is.
    const page = (await get(`${gw.gw.url}/.storegw/status`)).text;
    const { host } = new URL(deadUrl);
    expect(page).toContain('2 orders waiting to be sent');
    expect(page).not.toContain(host);
    expect(JSON.stringify(v)).not.toContain(host);
  });
});
