// Serving the dashboard's files: found from source and from dist, answered
// with their types, an ETag and the CSP, gzip when asked; a hub without them
// says why at / and keeps its API.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, SOURCE_DIR, dashboardRoutes, findDashboardDir } from './serve.js';

const silent = pino({ level: 'silent' });
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** A package tree like the one `npm pack` or a checkout gives: package.json, the source folder, and dist. */
function packageTree(name = 'storegw'): string {
  const root = join(tmpdir(), `storegw-dash-${process.pid}-${temps.length}`);
  temps.push(root);
  mkdirSync(join(root, SOURCE_DIR), { recursive: true });
  mkdirSync(join(root, 'dist/src/fleet/dashboard'), { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name }));
  writeFileSync(join(root, SOURCE_DIR, 'index.html'), '<!doctype html><title>x</title>');
  return root;
}

describe('finding the files', () => {
  it('uses ./public next to the module when running from source', () => {
    const found = findDashboardDir();
    expect(found.dir).toMatch(/src[/\\]fleet[/\\]dashboard[/\\]public$/);
  });

  it('finds the source folder in the package root when running from dist', () => {
    const root = packageTree();
    const found = findDashboardDir(pathToFileURL(join(root, 'dist/src/fleet/dashboard/serve.js')).href);
    expect(found.dir).toBe(join(root, SOURCE_DIR));
  });

  it("says where it looked when they are not there, and never takes another package's folder", () => {
    const root = packageTree('not-storegw');
    const found = findDashboardDir(pathToFileURL(join(root, 'dist/src/fleet/dashboard/serve.js')).href);
    expect(found.dir).toBeUndefined();
    expect(found.tried).toContain(join(root, 'dist/src/fleet/dashboard/public'));
  });
});

describe('serving them', () => {
  it('answers the page and its modules with their types, the CSP, an ETag and gzip', async () => {
    const app = Fastify();
    dashboardRoutes(app, silent);
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).not.toMatch(/<script>|<style>| style=|on(click|load)=/);
    for (const [name, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
      ['vendor/uplot.js', 'text/javascript; charset=utf-8'],
      ['vendor/uplot.css', 'text/css; charset=utf-8'],
      ['favicon.svg', 'image/svg+xml'],
    ] as const) {
      const r = await app.inject({ url: `/assets/${name}` });
      expect([name, r.statusCode, r.headers['content-type']]).toEqual([name, 200, type]);
      const again = await app.inject({ url: `/assets/${name}`, headers: { 'if-none-match': String(r.headers.etag) } });
      expect(again.statusCode).toBe(304);
    }
    const zipped = await app.inject({ url: '/assets/vendor/uplot.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.rawPayload.length).toBeLessThan(60_000);
    for (const name of ['model.d.ts', 'index.html', '..%2fserve.ts', 'missing.js']) expect((await app.inject({ url: `/assets/${name}` })).statusCode).toBe(404);
    await app.close();
  });

  it('answers 503 at / saying why when the files are missing, and logs it', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (s: string) => lines.push(s) });
    const app = Fastify();
    dashboardRoutes(app, logger, { dir: undefined, tried: ['/nowhere/public'] });
    const r = await app.inject({ url: '/' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('/nowhere/public');
    expect((await app.inject({ url: '/assets/app.js' })).statusCode).toBe(404);
    expect(lines.join('')).toContain('no dashboard');
    await app.close();
  });
});
