// Link quality on real tunnels: the gateway runs in the lab's store namespace
// with a fiber and a metered LTE uplink, each a wireguard-go tunnel to nginx
// in the region namespace, in front of the ERP simulator. Each scenario
// asserts what the store sees when links are cut, lossy or thin. The gateway
// starts with the fiber cut, so what status says before any probe has settled
// a path can be read (issue #19).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { CLI, GATEWAY_NODE_FLAGS } from '../support/gateway-process.js';
import { eventually, posOrderBody, posOrdersRoute } from '../support/pos.js';
import { describeLab } from './describe-lab.js';
import { labGatewayYaml, startLabGateway, type LabGateway, type LabPathStatus } from './lab-gateway.js';
import { Lab } from './topology.js';

const ROUTES = `${posOrdersRoute(3000)}
  - name: stock-count
    match: { method: POST, jsonrpc: { model: stock.quant, method: action_apply_inventory } }
    class: bulk
    mode: buffer
    dedupe: key
    timeoutMs: 3000
    idempotencyKey: { header: Idempotency-Key }
  - name: catalog
    match: { method: GET, path: /_sim/echo/catalog/** }
    class: interactive
    mode: cache
    timeoutMs: 2000
  - name: images
    match: { method: GET, path: /_sim/blob }
    class: bulk
    mode: passthrough
    timeoutMs: 60000
  - name: everything-else
    match: { path: /** }
    class: normal
    mode: passthrough
    timeoutMs: 3000`;

// Contract defaults but for RTT: the lab's tunnels answer in a millisecond or
// two, and tbf's queue (scenario 5) adds up to its latency setting.
const LINK = '{ downAfter: 3, upAfter: 5, degraded: { rttMs: 100, lossPct: 5, jitterMs: 50 } }';

let lab: Lab;
let erp: ErpSimulator;
let gw: LabGateway;
/** Paths as status said right after the gateway was ready, and 5 s after. */
let atStart: Record<string, LabPathStatus>;
let at5s: Record<string, LabPathStatus>;
/** Keep-alive round trips through lte, measured in the same 5 s. */
let keepAlive: { medianMs: number; ms: number[] };

// Runs inside the store namespace: keep-alive HTTP round trips to a URL
// through one tunnel (bound to its address, as the gateway's probes are), with
// undici as the gateway uses it. The connection is opened by warm-up requests
// first; then one request every gapMs (the probes' steady cadence is 500 ms).
const KEEPALIVE_SCRIPT = `
const o = JSON.parse(process.argv[1]);
const { Pool } = require(o.undici);
const url = new URL(o.url);
const pool = new Pool(url.origin, { connections: 1, connect: { localAddress: o.localAddress } });
const once = async () => {
  const t0 = performance.now();
  const r = await pool.request({ method: 'GET', path: url.pathname });
  await r.body.dump();
  if (r.statusCode !== 200) throw new Error('status ' + r.statusCode);
  return performance.now() - t0;
};
(async () => {
  for (let i = 0; i < o.warmup; i++) await once();
  const ms = [];
  for (let i = 0; i < o.n; i++) {
    await new Promise((r) => setTimeout(r, o.gapMs));
    ms.push(await once());
  }
  await pool.close();
  ms.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ medianMs: ms[Math.floor(ms.length / 2)], ms }), () => process.exit(0));
})().catch((e) => process.stdout.write(JSON.stringify({ error: String(e) }), () => process.exit(1)));
`;

/** The median keep-alive HTTP round trip from the store to `uplink`'s probe URL, through its tunnel. */
async function keepAliveRoundTrip(uplink: string): Promise<{ medianMs: number; ms: number[] }> {
  const u = lab.uplinks[uplink]!;
  const undici = createRequire(import.meta.url).resolve('undici');
  const args = { undici, url: u.probeUrl, localAddress: u.storeTunnelAddress, warmup: 3, n: 15, gapMs: 250 };
  const { stdout } = await lab.exec('store', process.execPath, ['-e', KEEPALIVE_SCRIPT, JSON.stringify(args)], { timeoutMs: 30_000 });
  return JSON.parse(stdout) as { medianMs: number; ms: number[] };
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, ms: performance.now() - t0 };
}

async function get(path: string) {
  const res = await request(`${gw.url}${path}`, { headersTimeout: 120_000 });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

async function post(body: string, headers: Record<string, string> = {}) {
  const res = await request(`${gw.url}/web/dataset/call_kw`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, headersTimeout: 120_000 });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text };
}

function stockCountBody(): string {
  return JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { model: 'stock.quant', method: 'action_apply_inventory', args: [[7]], kwargs: {} } });
}

const states = async () => Object.fromEntries(Object.entries(await gw.paths()).map(([k, v]) => [k, v.state]));

describeLab('link quality on real WireGuard tunnels', () => {
  beforeAll(async () => {
    lab = await Lab.create();
    erp = await startErpSimulator({ host: lab.mgmt.hostAddress, port: 0 });
    await lab.startNginx(erp.url);
    // The fiber is out when the gateway starts: its first probe can settle nothing before its deadline (probe.timeoutMs).
    await lab.cut('fiber');
    gw = await startLabGateway(lab, labGatewayYaml(lab, { routes: ROUTES, link: LINK, pathExtra: { lte: 'allowClasses: [critical, interactive]\n    metered: true' } }));
    atStart = await gw.paths();
    // Start-up (a node process loading, on a busy host seconds) ends with the monitor's first probes: 5 s counts from ready.
    const readyAt = performance.now();
    const measuring = keepAliveRoundTrip('lte');
    await new Promise((r) => setTimeout(r, readyAt + 5000 - performance.now()));
    at5s = await gw.paths();
    keepAlive = await measuring;
    await eventually(async () => expect((await states()).fiber).toBe('down'), 10_000, 20);
    await lab.restore('fiber');
    await eventually(async () => expect(await gw.paths()).toMatchObject({ fiber: { state: 'up', rttMs: expect.any(Number) }, lte: { state: 'up', rttMs: expect.any(Number) } }), 15_000);
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await lab?.destroy();
    await erp?.close();
  });

  it('says unknown for a path right after start, until its probes settle it: lte UP on its first answer, the cut fiber DOWN after downAfter failures', () => {
    expect(atStart.fiber).toMatchObject({ state: 'unknown', rttMs: null });
    const logs = gw.logs();
    expect(logs).toMatch(/"path":"lte","from":"unknown","to":"up"/);
    expect(logs).toMatch(/"path":"fiber","from":"unknown","to":"down"/);
    // Never UP before a probe said so.
    expect(logs).not.toMatch(/"path":"fiber","from":"unknown","to":"up"/);
  });

  it('runs the gateway as the systemd unit and the image do: with their node flags, so it gives no warning of them', () => {
    // `ip netns exec` execs node in place, so the child's pid is the gateway's.
    const argv = readFileSync(`/proc/${gw.proc.pid}/cmdline`, 'utf8').split('\0');
    expect(argv.slice(argv.indexOf(process.execPath) + 1, argv.indexOf(CLI))).toEqual(GATEWAY_NODE_FLAGS);
    expect(gw.logs()).not.toContain('node runs without --max-semi-space-size');
  });

  it('reports round trips 5 s after start within what a keep-alive HTTP client saw through the same tunnel in the same 5 s', () => {
    const lte = at5s.lte!;
    expect(lte.rttMs).toEqual(expect.any(Number));
    console.info(`lte: gateway RTT 5 s after start: median ${lte.rttP50Ms} ms, EWMA ${lte.rttMs} ms, p95 ${lte.rttP95Ms} ms, jitter ${lte.jitterMs} ms; keep-alive round trips median ${keepAlive.medianMs.toFixed(2)} ms [${keepAlive.ms.map((v) => v.toFixed(2)).join(' ')}]`);
    // The gateway's median round trip is held to the range of the 15 keep-alive round trips (a millisecond of
    // slack). The busy 2-core host delays single round trips of one process by 1.5–26 ms, which is why the
    // median is read, not the EWMA: one probe delayed 15 ms, which the keep-alive client need not share, moves
    // an EWMA at alpha 0.2 by 3 ms, and failed this check at 5.2 against 3.3 ms. That set-up stays out of the
    // RTT is shown exactly by the unit test with a 600 ms set-up (src/link/monitor.test.ts): through this
    // tunnel a set-up adds about one round trip, too little for this range to tell for certain.
    expect(lte.rttP50Ms).toEqual(expect.any(Number));
    expect(lte.rttP50Ms!).toBeLessThanOrEqual(Math.max(...keepAlive.ms) + 1);
    expect(lte.rttP50Ms!).toBeGreaterThanOrEqual(Math.min(...keepAlive.ms) / 2);
  });

  it('reads each tunnel\'s WireGuard state: handshake age in status and metrics', async () => {
    await eventually(async () => expect((await gw.paths()).fiber?.handshakeAgeS).toEqual(expect.any(Number)), 15_000);
    // Throughput needs two readings of the counters (5 s apart by default).
    await eventually(async () => {
      const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
      expect(metrics).toMatch(/storegw_wireguard_handshake_age_seconds\{path="fiber"\} \d/);
      expect(metrics).toMatch(/storegw_link_throughput_bytes_per_second\{path="lte",direction="tx"\} \d/);
    }, 15_000, 250);
  }, 30_000);

  it('1. fiber cut: critical and interactive move to LTE, bulk is buffered or refused per its route', async () => {
    // Both paths UP and fiber preferred before the cut (a busy machine can leave one DEGRADED for a moment).
    await eventually(async () => {
      const warm = await get('/_sim/echo/catalog/products');
      expect(warm.status).toBe(200);
      expect(warm.headers['x-gateway-path']).toBe('fiber');
    }, 20_000, 200);

    await lab.cut('fiber');
    await eventually(async () => expect(await states()).toEqual({ fiber: 'down', lte: 'up' }), 10_000, 20);
    await eventually(() => expect(gw.logs()).toMatch(/"path fiber is DOWN"/), 5000, 20);

    const order = await post(posOrderBody(`cut-${randomUUID()}`));
    expect(order.status).toBe(200);
    expect(order.headers['x-gateway-path']).toBe('lte');
    const catalog = await get('/_sim/echo/catalog/products');
    expect(catalog.status).toBe(200);
    expect(catalog.headers['x-gateway-path']).toBe('lte');

    // LTE carries no bulk: a bulk buffer route journals, a bulk passthrough route refuses fast.
    const { value: count, ms: countMs } = await timed(() => post(stockCountBody(), { 'idempotency-key': `count-${randomUUID()}` }));
    expect(count.status).toBe(202);
    expect(countMs).toBeLessThan(3000);
    const { value: image, ms: imageMs } = await timed(() => get('/_sim/blob?bytes=1000'));
    expect(image.status).toBe(503);
    expect(image.headers['retry-after']).toBeDefined();
    expect(imageMs).toBeLessThan(60_000 / 10);
    const page = await get('/web/login');
    expect(page.status).toBe(503);
  });

  it('3. restore: fiber is UP again after upAfter good probes, and the journaled backlog drains with nothing lost', async () => {
    const pending = erp.commits().length;
    await lab.restore('fiber');
    await eventually(async () => expect((await states()).fiber).toBe('up'), 15_000, 20);
    // Straight back to UP: the outage's lost probes do not leave the link DEGRADED. Status can say UP
    // before the gateway's log line has come through its stdout pipe: the lines are awaited.
    await eventually(() => {
      const lines = gw.logs().split('\n').filter((l) => l.includes('"path fiber is '));
      const changes = lines.map((l) => /"path fiber is [A-Z]+"/.exec(l)![0]);
      expect(changes.slice(-2), lines.slice(-2).join('\n')).toEqual(['"path fiber is DOWN"', '"path fiber is UP"']);
    }, 5000, 20);
    // The stock count journaled during the cut reaches the ERP, exactly once.
    await eventually(() => expect(erp.commits().filter((c) => c.model === 'stock.quant')).toHaveLength(1), 15_000);
    expect(erp.commits().length).toBe(pending + 1);
    expect(erp.duplicates()).toBe(0);
    const image = await get('/_sim/blob?bytes=1000');
    expect(image.status).toBe(200);
    expect(image.headers['x-gateway-path']).toBe('fiber');
  });

  it('2. both cut: buffer routes answer 202, cache routes serve stale, passthrough 503, all within their deadlines; restore drains', async () => {
    await get('/_sim/echo/catalog/cached-item');
    await lab.cut('fiber');
    await lab.cut('lte');
    await eventually(async () => expect(await states()).toEqual({ fiber: 'down', lte: 'down' }), 10_000, 20);

    const uuids = [randomUUID(), randomUUID(), randomUUID()];
    for (const uuid of uuids) {
      const { value: order, ms } = await timed(() => post(posOrderBody(uuid)));
      expect(order.status).toBe(202);
      expect(ms).toBeLessThan(3000);
    }
    const { value: stale, ms: staleMs } = await timed(() => get('/_sim/echo/catalog/cached-item'));
    expect(stale.status).toBe(200);
    expect(stale.headers['x-gateway-cache']).toBe('stale');
    expect(Number(stale.headers.age)).toBeGreaterThanOrEqual(0);
    expect(staleMs).toBeLessThan(2000);
    const { value: uncached, ms: uncachedMs } = await timed(() => get('/_sim/echo/catalog/never-seen'));
    expect(uncached.status).toBe(503);
    expect(uncachedMs).toBeLessThan(2000);
    const { value: page, ms: pageMs } = await timed(() => get('/web/login'));
    expect(page.status).toBe(503);
    expect(pageMs).toBeLessThan(3000);

    await lab.restore('lte');
    await lab.restore('fiber');
    await eventually(async () => expect(await states()).toEqual({ fiber: 'up', lte: 'up' }), 15_000, 20);
    await eventually(() => expect(erp.commits().map((c) => c.uuid)).toEqual(expect.arrayContaining(uuids)), 15_000);
    expect(erp.duplicates()).toBe(0);
  });

  it('4. 10% packet loss: DEGRADED, never DOWN, no flapping; the loss reads as loss', async () => {
    const seen: string[] = [];
    let maxLossPct = 0;
    await lab.loss('fiber', 10);
    try {
      const until = Date.now() + 20_000;
      while (Date.now() < until) {
        const s = (await gw.paths()).fiber!;
        if (seen.at(-1) !== s.state) seen.push(s.state);
        maxLossPct = Math.max(maxLossPct, s.lossPct);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await lab.loss('fiber', 0);
    }
    expect(seen).toContain('degraded');
    expect(seen).not.toContain('down');
    // up → degraded, perhaps back once: hysteresis keeps it from toggling.
    expect(seen.length, seen.join(' → ')).toBeLessThanOrEqual(3);
    // TCP resends what the tunnel drops, so the probes come back late rather than never: read as the
    // slow answers they look like, they left a link losing 10 % UP on some runs.
    expect(maxLossPct).toBeGreaterThan(5);
    // Leaving DEGRADED takes 40 clean probes (20 s at the 500 ms cadence) and upAfter more.
    await eventually(async () => expect((await states()).fiber).toBe('up'), 45_000, 100);
  }, 90_000);

  it('5. tbf at 1 Mbit under load: RTT rises, the score drops, the state follows the RTT threshold', async () => {
    await eventually(async () => expect((await states()).fiber).toBe('up'), 30_000, 100);
    const before = (await gw.paths()).fiber!;
    // A product-image download fills the shaper's queue; probes wait behind it. The queue
    // holds 400 ms: with 250 the download's TCP sawtooth kept the RTT's average near the
    // 100 ms threshold (93 ms once in CI), as probes past the retransmit judgement count as
    // loss rather than RTT while the estimate catches up with the jump.
    await lab.shape('fiber', '1mbit', { latencyMs: 400 });
    const download = get('/_sim/blob?bytes=3000000').catch(() => undefined);
    try {
      await eventually(async () => {
        const fiber = (await gw.paths()).fiber!;
        expect(fiber.rttMs).toBeGreaterThan(100);
        expect(fiber.state).toBe('degraded');
        expect(fiber.score).toBeLessThan(before.score);
      }, 20_000, 100);
    } finally {
      await lab.unshape('fiber');
    }
    await download;
    await eventually(async () => expect((await states()).fiber).toBe('up'), 30_000, 100);
    expect(gw.logs()).toMatch(/"path fiber is DEGRADED"/);
  }, 90_000);
});
