// The staff page in a real browser (Debian's chromium driven by playwright-core)
// on a small screen, from a real gateway in front of the ERP simulator: it
// says in words that the store is online, then — refreshing itself, nobody
// reloads it — that it is offline, since when each uplink is down and that an
// order waits, then online again with nothing waiting once the ERP is back.
// Its style applies under its CSP, it asks for nothing but itself, and it fits
// the screen. Screenshots go to test-output/browser/.
//
// Skipped with the reason when /usr/bin/chromium is missing; with CI set it fails instead.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startErpSimulator, type ErpSimulator } from '../../src/sim/erp-simulator.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { posOrderBody, posOrdersRoute } from '../support/pos.js';
import { CHROMIUM, CHROMIUM_ARGS, browserSkipReason, isCI } from './fleet-setup.js';

const SHOTS = fileURLToPath(new URL('../../test-output/browser/', import.meta.url));
const reason = browserSkipReason();

/** Admitted by network alone, as a plain browser must be; fast probes and thresholds no busy host reaches, so up means "working", not "slow". */
function yaml(erp: string): string {
  const probe = `{ url: "${erp}/ping", intervalMs: 100, fastIntervalMs: 20, timeoutMs: 1000, minTimeoutMs: 300 }`;
  return `version: 1
store: { id: store-0042, region: test }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
  devices: { allowCidrs: [127.0.0.0/8] }
paths:
  - name: fiber
    baseUrl: ${erp}
    probe: ${probe}
  - name: lte
    baseUrl: ${erp}
    probe: ${probe}
    metered: true
routes:
${posOrdersRoute(300)}
buffer: { path: ./journal.db }
cache: { path: ./cache.db }
link: { downAfter: 2, upAfter: 2, upHoldDownMs: 200, degraded: { rttMs: 5000, jitterMs: 5000, lossPct: 50 } }
replay: { ratePerSec: 50, startJitterMs: 0, backoff: { baseMs: 50, maxMs: 300 } }
`;
}

if (reason !== undefined && isCI()) {
  describe('staff page in a browser', () => {
    it('has chromium to run in', () => {
      throw new Error(`the browser tests cannot run on this CI machine: ${reason}`);
    });
  });
} else if (reason !== undefined) {
  console.warn(`skipped "staff page in a browser": ${reason}`);
  describe('staff page in a browser', () => {
    it('needs chromium', (ctx) => ctx.skip(reason));
  });
} else {
  describe('staff page in a browser', () => {
    let erp: ErpSimulator;
    let gw: TestGateway;
    let browser: Browser;
    let page: Page;
    let pageUrl: string;
    /** Every URL the page asked for, and every error or CSP violation it saw. */
    const urls: string[] = [];
    const problems: string[] = [];

    beforeAll(async () => {
      mkdirSync(SHOTS, { recursive: true });
      erp = await startErpSimulator();
      [gw, browser] = await Promise.all([startTestGateway(yaml(erp.url)), chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })]);
      pageUrl = `${gw.gw.url}/.storegw/status`;
      // A handheld's screen.
      const context = await browser.newContext({ viewport: { width: 360, height: 640 } });
      page = await context.newPage();
      // Page-side code is given as text: this project's TypeScript has no DOM types.
      await page.addInitScript("document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))");
      page.on('request', (r) => urls.push(r.url()));
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
    });

    afterAll(async () => {
      await browser?.close();
      await gw?.close();
      await erp?.close();
    });

    const headline = () => page.locator('#headline').innerText();
    const uplinks = () => page.locator('#uplinks li').allInnerTexts();
    const orders = () => page.locator('#orders li').allInnerTexts();

    it('says the store is online and both uplinks work, on a page that fits a small screen', async () => {
      await page.goto(pageUrl);
      // The first probes settle within a second; the page shows it at its next refresh.
      await expect.poll(headline, { timeout: 15_000, interval: 200 }).toBe('The store is online.');
      expect(await uplinks()).toEqual(['fiber: working', 'lte: working']);
      expect(await orders()).toEqual(['No orders waiting: everything has been sent.']);
      expect(await page.locator('#advice').count()).toBe(0);
      expect(await page.title()).toBe('Online · store-0042 · store gateway');
      expect(await page.locator('footer').innerText()).toMatch(/^Store store-0042 · updated \d\d:\d\d:\d\d · this page refreshes every 5 seconds$/);
      // The inline style applied (its hash is in the CSP): green behind "online".
      expect(await page.evaluate("getComputedStyle(document.getElementById('store')).backgroundColor")).toBe('rgb(227, 245, 230)');
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await page.screenshot({ path: join(SHOTS, 'staff-online.png'), fullPage: true });
    });

    it('turns to offline by itself when the ERP cannot be reached, with since when and the order waiting', async () => {
      erp.setBehavior({ mode: 'fail', status: 503 });
      await expect.poll(headline, { timeout: 15_000, interval: 200 }).toBe('The store is offline.');
      expect(await page.locator('#advice').innerText()).toBe('Keep selling: orders are kept in the store and sent when the connection is back.');
      const res = await request(`${gw.gw.url}/web/dataset/call_kw/pos.order/sync_from_ui`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: posOrderBody('staff-page-order-1') });
      await res.body.dump();
      expect(res.statusCode).toBe(202);
      await expect.poll(orders, { timeout: 15_000, interval: 200 }).toEqual(['1 order waiting to be sent, for less than a minute.']);
      expect(await uplinks()).toEqual([expect.stringMatching(/^fiber: down since \d\d:\d\d$/), expect.stringMatching(/^lte: down since \d\d:\d\d$/)]);
      expect(await page.title()).toBe('OFFLINE · store-0042 · store gateway');
      expect(await page.evaluate("[getComputedStyle(document.getElementById('store')).backgroundColor, getComputedStyle(document.getElementById('store')).borderTopColor]")).toEqual(['rgb(253, 226, 225)', 'rgb(179, 38, 30)']);
      await page.screenshot({ path: join(SHOTS, 'staff-offline.png'), fullPage: true });
    });

    it('is online again with nothing waiting once the ERP is back and the order was sent', async () => {
      erp.setBehavior({ mode: 'ok' });
      await expect.poll(headline, { timeout: 15_000, interval: 200 }).toBe('The store is online.');
      await expect.poll(orders, { timeout: 15_000, interval: 200 }).toEqual(['No orders waiting: everything has been sent.']);
      expect(erp.commits().map((c) => c.key)).toEqual(['staff-page-order-1']);
    });

    it('asked for nothing but itself, and saw no error', () => {
      expect(urls.length).toBeGreaterThan(2);
      expect(new Set(urls)).toEqual(new Set([pageUrl]));
      expect(problems).toEqual([]);
    });
  });
}
