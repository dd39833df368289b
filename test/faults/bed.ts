// The fault matrix's test bed: the ERP simulator in this process, a real
// `storegw gateway` child process on fixed loopback ports (so POS terminals
// find it again after a restart), the store's devices with their tokens (each
// device its own FIFO lane), and the mixed load (../support/load-mix.ts).
// Each case starts one, does its fault under load, and ends with check().
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { tempDir } from '../support/gateway.js';
import { freePort, GatewayProcess, type GatewayProcessOptions } from '../support/gateway-process.js';
import { LoadMix, type LoadClass, type LoadMixOptions, type LoadVerdict } from '../support/load-mix.js';

/** The routes' timeoutMs: what each client is promised an answer within. */
export const DEADLINES: Record<LoadClass, number> = { order: 1500, scan: 1500, catalog: 1000, page: 2000 };

/** Routes for the mixed load, as YAML list items under routes:. */
export function mixRoutes(d: Record<LoadClass, number> = DEADLINES): string {
  return `  - name: pos-orders
    match: { method: POST, jsonrpc: { model: pos.order, method: sync_from_ui } }
    class: critical
    mode: buffer
    dedupe: natural
    timeoutMs: ${d.order}
    idempotencyKey: { jsonPath: "params.args[0][*].uuid" }
    heldAnswer: offline
    orderingKey: device
  - name: scanner-validate
    match: { method: POST, jsonrpc: { model: stock.picking, method: button_validate } }
    class: interactive
    mode: buffer
    dedupe: none
    # Validating a picking twice is an error in Odoo: an attempt whose answer was lost is read back, not sent again.
    check: { model: stock.picking, domain: [[id, "=", "$.params.args[0][0]"], [state, "=", done]], afterMs: 500, everyMs: 500 }
    timeoutMs: ${d.scan}
    idempotencyKey: { header: Idempotency-Key }
    orderingKey: device
  - name: catalog
    match: { method: POST, jsonrpc: { model: product.product, method: search_read } }
    class: interactive
    mode: cache
    timeoutMs: ${d.catalog}
  - name: pages
    match: { method: GET, path: /_sim/echo/** }
    class: normal
    mode: passthrough
    timeoutMs: ${d.page}`;
}

export const deviceToken = (device: string) => `tok-${device}-7f3a9c1e5b2d4f60`;
export function deviceTokensYaml(pos = 16, scanners = 8, tills = 8): string {
  const ids = [...Array.from({ length: pos }, (_, i) => `pos-${i + 1}`), ...Array.from({ length: scanners }, (_, i) => `scan-${i + 1}`), ...Array.from({ length: tills }, (_, i) => `till-${i + 1}`)];
  return ids.map((id) => `${id}: ${deviceToken(id)}`).join('\n') + '\n';
}

/** Replay fast enough for a test to see a backlog drain in seconds. */
export const TEST_REPLAY = 'replay: { ratePerSec: 200, concurrency: 8, backoff: { baseMs: 50, maxMs: 1000 }, maxServerErrorAttempts: 10 }';

export interface BedYaml {
  erpUrl: string;
  port: number;
  adminPort: number;
  /** Replaces the buffer section's value. */
  buffer?: string;
  /** Top-level sections appended (fleet:, …). */
  extra?: string;
  routes?: string;
  storeId?: string;
}

export function bedYaml(o: BedYaml): string {
  return `version: 1
store: { id: ${o.storeId ?? 'store-faults'}, region: test }
gateway:
  listen: { host: 127.0.0.1, port: ${o.port} }
  admin: { host: 127.0.0.1, port: ${o.adminPort} }
  devices: { tokensFile: devices.yaml }
paths:
  - name: fiber
    baseUrl: ${o.erpUrl}
routes:
${o.routes ?? mixRoutes()}
buffer: ${o.buffer ?? '{ path: ./journal.db }'}
cache: { path: ./cache.db }
${TEST_REPLAY}
${o.extra ?? ''}
`;
}

export interface Bed {
  erp: ErpSimulator;
  dir: string;
  config: string;
  port: number;
  adminPort: number;
  gw: GatewayProcess;
  /** The gateway's URL as the devices know it (fixed across restarts). */
  url: string;
  /** Starts the gateway again on the same config and journal (after a kill). */
  restart(more?: Partial<GatewayProcessOptions>): Promise<GatewayProcess>;
  mix(more?: Partial<LoadMixOptions>): LoadMix;
  close(): Promise<void>;
}

export interface BedOptions {
  name: string;
  /** Builds the gateway.yaml from the bed's ports and ERP. */
  yaml?: (o: BedYaml) => string;
  buffer?: string;
  extra?: string;
  process?: Partial<GatewayProcessOptions>;
  /** Folder for the bed (default: a fresh temp folder). */
  dir?: string;
}

export async function startBed(o: BedOptions): Promise<Bed> {
  const dir = o.dir ?? tempDir(`storegw-fault-${o.name}-`);
  mkdirSync(dir, { recursive: true });
  const erp = await startErpSimulator();
  const [port, adminPort] = [await freePort(), await freePort()];
  const config = join(dir, 'gateway.yaml');
  writeFileSync(join(dir, 'devices.yaml'), deviceTokensYaml(), { mode: 0o600 });
  const y: BedYaml = { erpUrl: erp.url, port, adminPort, ...(o.buffer !== undefined && { buffer: o.buffer }), ...(o.extra !== undefined && { extra: o.extra }) };
  writeFileSync(config, (o.yaml ?? bedYaml)(y));
  const launch = (more: Partial<GatewayProcessOptions> = {}) => GatewayProcess.start({ config, cwd: dir, ...o.process, ...more });
  const bed: Bed = {
    erp,
    dir,
    config,
    port,
    adminPort,
    gw: await launch(),
    url: `http://127.0.0.1:${port}`,
    async restart(more) {
      bed.gw = await launch(more);
      return bed.gw;
    },
    mix(more = {}) {
      return new LoadMix({ target: () => bed.url, prefix: `${o.name}-${Date.now().toString(36)}`, deadlines: DEADLINES, deviceToken, ...more });
    },
    async close() {
      await bed.gw.stop().catch(() => undefined);
      await erp.close();
      if (o.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
  return bed;
}

/**
 * The matrix's three promises, for one case: nothing acknowledged lost,
 * nothing applied twice, every client answered within its deadline. Prints
 * the figures (the table in docs/testing.md is made from these lines).
 */
export function check(name: string, mix: LoadMix, v: LoadVerdict, extra: Record<string, unknown> = {}): void {
  const misses = mix.deadlineMisses();
  const line = {
    case: name,
    ackedOrders: v.acked.order,
    ackedScans: v.acked.scan,
    committed: v.committed.order + v.committed.scan,
    lost: v.lost.length,
    duplicated: v.duplicated.length,
    late: misses.late,
    unanswered: misses.unanswered,
    erpDedupHits: v.erpDedupHits,
    committedUnacked: v.committedUnacked,
    tillsPaid: v.tills.paid,
    tillsAtErp: v.tills.atErp,
    tillsReverted: v.tills.reverted,
    tillsStillHolding: v.tills.pending,
    ...extra,
  };
  console.log(`FAULT ${JSON.stringify(line)}\n${mix.summary()}`);
  expect(v.acked.order, 'orders were acknowledged at all').toBeGreaterThan(0);
  expect(v.lost, 'acknowledged but never committed at the ERP').toEqual([]);
  expect(v.duplicated, 'committed more than once').toEqual([]);
  expect(v.keyMismatch, 'orders committed without their uuid as Idempotency-Key').toBe(0);
  expect(v.refusedButCommitted, 'refused (507) every time, yet committed').toEqual([]);
  expect(v.deadLetters, 'writes answered 409 dead_letter').toBe(0);
  // The cashiers' view: every order paid is at the ERP once, none reverted to
  // unpaid; one a till still holds is not lost (it sends it when it can), and
  // only a case whose devices gave up early may end with some held.
  expect(v.tills.paid, 'orders paid at the emulated Odoo tills').toBeGreaterThan(0);
  const t = v.tills;
  expect({ lost: t.lost, duplicated: t.duplicated, reverted: t.reverted, held: mix.gaveUp ? 0 : t.pending }, `the tills' orders\n${mix.tillsDescribed()}`).toEqual({
    lost: 0,
    duplicated: 0,
    reverted: 0,
    held: 0,
  });
  expect(misses.samples.slice(0, 5), 'answers later than timeoutMs + slack, or none from a live gateway').toEqual([]);
  expect(misses.late + misses.unanswered).toBe(0);
}
