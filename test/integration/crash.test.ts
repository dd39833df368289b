// kill -9 means kill -9: a real `storegw gateway` process under concurrent
// buffered load is killed with SIGKILL at random moments, restarted on the same
// journal, and finally drained. Every order that was acknowledged (202, or the
// ERP's 200) must be at the ERP exactly once.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator, type SimBehavior } from '../../src/sim/erp-simulator.js';
import { gatewayYaml, tempDir } from '../support/gateway.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { eventually, posOrderBody, posOrdersRoute } from '../support/pos.js';

const KILLS = Number(process.env.STOREGW_CRASH_KILLS ?? 20);
const CLIENTS = 8;

const ROUTES = posOrdersRoute(300, 'none');

describe('SIGKILL under load', () => {
  const dir = tempDir('storegw-crash-');
  let erp: ErpSimulator;
  afterAll(async () => {
    await erp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`loses and duplicates nothing across ${KILLS} kills`, { timeout: 240_000 }, async () => {
    erp = await startErpSimulator();
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, gatewayYaml(erp.url, ROUTES, { extra: 'replay: { ratePerSec: 500, concurrency: 8, backoff: { baseMs: 20, maxMs: 300 } }' }));

    const acked = new Set<string>();
    let sent = 0;
    let unanswered = 0;
    const behaviors: SimBehavior[] = [{ mode: 'ok' }, { mode: 'fail', status: 503 }, { mode: 'slow', delayMs: 600 }, { mode: 'drop-after-commit' }];

    for (let kill = 0; kill < KILLS; kill++) {
      erp.setBehavior(behaviors[kill % behaviors.length]!);
      const gw = await GatewayProcess.start({ config, cwd: dir });
      // A fresh connection pool per life: the old sockets died with the process.
      const agent = new Agent({ connections: CLIENTS });
      let stop = false;
      const client = async (c: number) => {
        while (!stop) {
          const uuid = `k${kill}-c${c}-${sent++}`;
          try {
            const res = await request(`${gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, {
              method: 'POST',
              dispatcher: agent,
              headers: { 'content-type': 'application/json' },
              body: posOrderBody(uuid),
            });
            await res.body.dump();
            if (res.statusCode === 202 || res.statusCode === 200) acked.add(uuid);
          } catch {
            unanswered++; // the process died under this request: nothing was promised
          }
        }
      };
      const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 450));
      await gw.kill9();
      stop = true;
      await Promise.all(clients);
      await agent.close();
    }

    erp.setBehavior({ mode: 'ok' });
    const final = await GatewayProcess.start({ config, cwd: dir });
    try {
      await eventually(async () => {
        const status = await final.status();
        expect(status.queue).toMatchObject({ pending: 0, dead: 0 });
      }, 60_000, 200);
    } finally {
      await final.stop();
    }

    const committed = new Map<string, number>();
    for (const c of erp.commits()) {
      // Every attempt of an order carried the order's own key, whoever sent it (live try or replay, before or after a kill).
      expect(c.key).toBe(c.uuid);
      committed.set(c.uuid!, (committed.get(c.uuid!) ?? 0) + 1);
    }
    const lost = [...acked].filter((k) => !committed.has(k));
    const duplicated = [...committed.values()].filter((n) => n > 1).length;
    console.log(
      `crash test: ${KILLS} SIGKILLs, ${sent} sent, ${acked.size} acknowledged, ${unanswered} cut off unanswered, ` +
        `${committed.size} committed at the ERP, ${lost.length} lost, ${duplicated} duplicated, ${erp.duplicates()} retries deduplicated by key`,
    );
    expect(acked.size).toBeGreaterThan(KILLS * 5);
    expect(lost).toEqual([]);
    expect(duplicated).toBe(0);
  });
});
