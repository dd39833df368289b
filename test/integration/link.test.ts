// The link monitor on loopback: probes through the path take it DOWN and back
// UP with hysteresis, a DOWN path gets nothing new (passthrough answers 503 at
// once, buffer routes 202), and status and metrics say so; a configuration
// reload keeps what the probes have shown.
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually, posOrderBody, posOrdersRoute } from '../support/pos.js';

const ROUTES = `${posOrdersRoute(5000)}
  - name: everything-else
    match: { path: /* }
    class: normal
    timeoutMs: 5000`;

let erp: ErpSimulator | undefined;
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  await erp?.close();
  t = undefined;
  erp = undefined;
});

/** One path to the simulator, probed every 100 ms. */
function probedYaml(sim: ErpSimulator, link: string): string {
  return gatewayYaml(sim.url, ROUTES, { extra: `link: ${link}` }).replace(
    `baseUrl: ${sim.url}`,
    `baseUrl: ${sim.url}\n    probe: { url: "${sim.url}/ping", intervalMs: 100, timeoutMs: 100 }`,
  );
}

async function pathStatus(g: TestGateway) {
  const s = (await (await request(`${g.gw.adminUrl}/v1/status`)).body.json()) as { paths: { name: string; state: string; score: number; rttMs: number | null; rttP50Ms: number | null; rttP95Ms: number | null; lossPct: number; monitored: boolean }[] };
  return s.paths[0]!;
}

describe('link monitor', () => {
  it('says UNKNOWN right after start, in status and metrics, until probes settle the path', async () => {
    erp = await startErpSimulator();
    // The ingress does not answer: the first probe can only settle the path at its 3 s deadline.
    erp.setBehavior({ mode: 'hang' });
    t = await startTestGateway(probedYaml(erp, '{ downAfter: 2, upAfter: 3 }').replace('timeoutMs: 100 }', 'timeoutMs: 3000 }'));
    expect(await pathStatus(t)).toMatchObject({ state: 'unknown', monitored: true, rttMs: null, rttP50Ms: null, rttP95Ms: null });
    expect(await (await request(`${t.gw.adminUrl}/metrics`)).body.text()).toMatch(/storegw_link_state\{path="fiber"\} -1/);
    await eventually(async () => expect((await pathStatus(t!)).state).toBe('down'), 10_000, 20);
    expect(t.logs()).toMatch(/"from":"unknown","to":"down"/);
  });

  it('takes a failing path DOWN after downAfter probes, serves fast answers meanwhile, and brings it UP after upAfter', async () => {
    erp = await startErpSimulator();
    t = await startTestGateway(probedYaml(erp, '{ downAfter: 2, upAfter: 3 }'));
    await eventually(async () => expect(await pathStatus(t!)).toMatchObject({ state: 'up', monitored: true, rttMs: expect.any(Number), rttP50Ms: expect.any(Number), rttP95Ms: expect.any(Number) }));

    // The ingress stops answering: probes hang past their timeout.
    erp.setBehavior({ mode: 'hang' });
    await eventually(async () => expect((await pathStatus(t!)).state).toBe('down'), 5000, 20);
    expect(t.logs()).toMatch(/"path fiber is DOWN"/);

    const started = performance.now();
    const live = await request(`${t.gw.url}/web/page`);
    expect(live.statusCode).toBe(503);
    expect(await live.body.json()).toMatchObject({ error: 'upstream_unavailable' });
    expect(live.headers['retry-after']).toBeDefined();
    const order = await request(`${t.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: posOrderBody('order-while-down'),
    });
    expect(order.statusCode).toBe(202);
    await order.body.dump();
    // Neither waited for its 5 s deadline: the path was known DOWN.
    expect(performance.now() - started).toBeLessThan(4000);

    const metrics = await (await request(`${t.gw.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/storegw_link_state\{path="fiber"\} 0/);

    erp.setBehavior({ mode: 'ok' });
    await eventually(async () => expect((await pathStatus(t!)).state).toBe('up'), 5000, 20);
    expect(t.logs()).toMatch(/"path fiber is UP"/);
    await eventually(() => expect(erp!.commits().map((c) => c.uuid)).toContain('order-while-down'));
    const after = await (await request(`${t.gw.adminUrl}/metrics`)).body.text();
    expect(after).toMatch(/storegw_link_state\{path="fiber"\} 2/);
    expect(after).toMatch(/storegw_link_score\{path="fiber"\} \d+/);
  });

  it('does not flap on a single lost probe', async () => {
    erp = await startErpSimulator();
    t = await startTestGateway(probedYaml(erp, '{ downAfter: 3, upAfter: 3 }'));
    await eventually(async () => expect((await pathStatus(t!)).rttMs).not.toBeNull());
    for (let i = 0; i < 4; i++) {
      erp.setBehavior({ mode: 'fail', status: 503, count: 1, pathPrefix: '/ping' });
      await new Promise((r) => setTimeout(r, 350));
    }
    expect((await pathStatus(t)).state).not.toBe('down');
    expect(t.logs()).not.toMatch(/is DOWN/);
  });

  it('when a path comes back, delivers what waited for the network at once, not at the end of its backoff', async () => {
    erp = await startErpSimulator();
    // A minute's backoff after the first failed try: only the link coming back can explain a prompt delivery.
    const yaml = probedYaml(erp, '{ downAfter: 2, upAfter: 2 }') + '\nreplay: { backoff: { baseMs: 60000, maxMs: 60000 } }\n';
    t = await startTestGateway(yaml);
    await eventually(async () => expect((await pathStatus(t!)).state).toBe('up'));
    erp.setBehavior({ mode: 'hang' });
    await eventually(async () => expect((await pathStatus(t!)).state).toBe('down'), 5000, 20);
    const order = await request(`${t.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: posOrderBody('waited-for-the-network'),
    });
    expect(order.statusCode).toBe(202);
    await order.body.dump();
    // Backoff is full jitter, uniform up to the minute: wait until the entry's next try is 10 s off or more
    // (a shorter draw comes due, fails on the DOWN path and is drawn again; waiting for 20 s off took 15–35 s
    // in three runs of six).
    let due = 0;
    await eventually(
      async () => {
        const q = (await (await request(`${t!.gw.adminUrl}/v1/queue`)).body.json()) as { entries: { nextAttemptAt: number }[] };
        due = q.entries[0]!.nextAttemptAt;
        expect(due - Date.now()).toBeGreaterThan(10_000);
      },
      45_000,
      100,
    );
    erp.setBehavior({ mode: 'ok' });
    await eventually(() => expect(erp!.commits().map((c) => c.uuid)).toContain('waited-for-the-network'), 15_000);
    // Delivered before its next try was due: the link coming back sent it, not the backoff.
    expect(Date.now()).toBeLessThan(due);
    expect(t.logs()).toMatch(/journaled requests waiting for the network are due now/);
  }, 90_000);
  it('keeps a DOWN path DOWN across a reload that changes something unrelated', async () => {
    erp = await startErpSimulator();
    t = await startTestGateway(probedYaml(erp, '{ downAfter: 2, upAfter: 3 }'));
    await eventually(async () => expect((await pathStatus(t!)).state).toBe('up'));
    // The probe target stops answering, and keeps not answering through the reload.
    erp.setBehavior({ mode: 'hang' });
    await eventually(async () => expect((await pathStatus(t!)).state).toBe('down'), 5000, 20);

    // A route's deadline changes; the path does not.
    writeFileSync(t.configFile, readFileSync(t.configFile, 'utf8').replace('timeoutMs: 5000', 'timeoutMs: 4000'));
    const before = t.gw.configVersion();
    expect(t.gw.reload()).toMatchObject({ ok: true, restartNeeded: [] });
    expect(t.gw.configVersion()).not.toBe(before);

    // At once and for a good while after (well past downAfter fresh probes): DOWN, never UP.
    const until = performance.now() + 1500;
    while (performance.now() < until) {
      expect(await pathStatus(t)).toMatchObject({ state: 'down', monitored: true });
      await new Promise((r) => setTimeout(r, 20));
    }
    // Refused for want of a path, not tried on the hanging one (that would end in a timeout).
    const live = await request(`${t.gw.url}/web/page`);
    expect(live.statusCode).toBe(503);
    expect(await live.body.json()).toMatchObject({ error: 'upstream_unavailable' });
    expect((await (await request(`${t.gw.adminUrl}/metrics`)).body.text())).toMatch(/storegw_link_state\{path="fiber"\} 0/);
    // Settled UP at start, then DOWN, and never UP since.
    expect(t.logs().match(/"path fiber is (UP|DOWN)"/g)).toEqual(['"path fiber is UP"', '"path fiber is DOWN"']);

    // The kept path is still probed: it comes back when its target does.
    erp.setBehavior({ mode: 'ok' });
    await eventually(async () => expect((await pathStatus(t!)).state).toBe('up'), 5000, 20);
  });
});
