// The region drain budgets on the dashboard's fleet page, in a real browser
// against a real hub with a budget for eu-north and real gateways: the page
// shows the budget, how much of it is granted and each region's backlog as a
// store journals writes and drains them; the region actions say what a drain
// rate means in a budgeted region. Screenshots go to test-output/browser/.
//
// Skipped with the reason when /usr/bin/chromium is missing; with CI set it fails instead.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, OPERATOR_TOKEN, VIEWER_TOKEN, browserSkipReason, isCI, startTestFleet, type Store, type TestFleet } from './fleet-setup.js';

const SHOTS = fileURLToPath(new URL('../../test-output/browser/', import.meta.url));
const reason = browserSkipReason();
const BUDGET = 40;

if (reason !== undefined && isCI()) {
  describe('region drain budgets in a browser', () => {
    it('has chromium to run in', () => {
      throw new Error(`the browser tests cannot run on this CI machine: ${reason}`);
    });
  });
} else if (reason !== undefined) {
  console.warn(`skipped "region drain budgets in a browser": ${reason}`);
  describe('region drain budgets in a browser', () => {
    it('needs chromium', (ctx) => ctx.skip(reason));
  });
} else {
  describe('region drain budgets in a browser', () => {
    let fleet: TestFleet;
    let browser: Browser;
    let north: Store;
    const problems: string[] = [];

    beforeAll(async () => {
      mkdirSync(SHOTS, { recursive: true });
      [fleet, browser] = await Promise.all([
        startTestFleet(
          [
            { id: 'store-north-01', region: 'eu-north' },
            { id: 'store-north-02', region: 'eu-north' },
            { id: 'store-south-01', region: 'eu-south' },
          ],
          [],
          `regions:\n  eu-north: { drainBudgetPerSec: ${BUDGET} }\n`,
        ),
        chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
      ]);
      north = fleet.stores[0]!;
    });

    afterAll(async () => {
      await browser?.close();
      await fleet?.close();
    });

    async function signIn(token: string): Promise<Page> {
      const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      await page.goto(fleet.hub.url);
      await page.getByLabel('Ops token').fill(token);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
      return page;
    }

    const cells = (page: Page, region: string) => page.locator(`#drain-budgets-table tbody tr[data-region="${region}"] td`).allInnerTexts();

    it('shows each budgeted region\'s budget and how much of it is granted, and no row for a region without one', async () => {
      const page = await signIn(VIEWER_TOKEN);
      await page.getByRole('heading', { name: 'Region drain budgets' }).waitFor();
      await expect.poll(() => cells(page, 'eu-north'), { timeout: 10_000 }).toEqual(['40/s', expect.stringMatching(/^\s*\d+(\.\d)?\/s of 40\/s \(\d+ %\)$/), 'idle', '0 of 2', '0']);
      expect(await page.locator('#drain-budgets-table tbody tr').count()).toBe(1);
      const granted = Number.parseFloat((await cells(page, 'eu-north'))[1]!);
      expect(granted).toBeGreaterThan(BUDGET / 2);
      expect(granted).toBeLessThanOrEqual(BUDGET);
    });

    it('shows a store\'s backlog in its region\'s row while it waits and drains', async () => {
      const page = await signIn(OPERATOR_TOKEN);
      await request(`${north.gw.gw.adminUrl}/v1/replay/pause`, { method: 'POST' }).then((r) => r.body.dump());
      north.erp.setBehavior({ mode: 'fail', status: 503 });
      for (let i = 0; i < 30; i++) expect(await fleet.order(north, `budget-order-${i}`)).toBe(202);
      await expect.poll(async () => (await cells(page, 'eu-north')).slice(3), { timeout: 10_000 }).toEqual(['1 of 2', '30']);
      await page.screenshot({ path: join(SHOTS, 'drain-budgets.png'), fullPage: true });
      north.erp.setBehavior({ mode: 'ok' });
      await request(`${north.gw.gw.adminUrl}/v1/replay/resume`, { method: 'POST' }).then((r) => r.body.dump());
      await expect.poll(async () => (await cells(page, 'eu-north')).slice(3), { timeout: 15_000 }).toEqual(['0 of 2', '0']);
      // The store drained at its share of the budget, never above it.
      expect((await fleet.adminStatus(north)).replay.ratePerSec).toBeLessThanOrEqual(BUDGET);
    });

    it('tells an operator setting a drain rate what it means in a budgeted region', async () => {
      const page = await signIn(OPERATOR_TOKEN);
      await expect.poll(() => page.locator('#region-action-region option').allInnerTexts()).toEqual(['eu-north', 'eu-south']);
      await page.locator('#region-action-region').selectOption('eu-north');
      await expect.poll(() => page.locator('#region-action-budget').innerText()).toBe('Region eu-north has a drain budget of 40/s: each store drains at its share of it, and never faster than the rate set here.');
      await page.locator('#region-action-region').selectOption('eu-south');
      expect(await page.locator('#region-action-budget').isHidden()).toBe(true);
      expect(problems).toEqual([]);
    });
  });
}
