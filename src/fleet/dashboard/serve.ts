// The fleet dashboard's files, served by the hub: the page at `/`, its ES
// modules and CSS under /assets/, and uPlot from node_modules under
// /assets/vendor/ (bundled with the package: ops networks are closed, no CDN).
// There is no build step: the files are plain JS, HTML and CSS in ./public,
// found at runtime (see findDashboardDir) both when the hub runs from source
// (vitest) and from dist/. They are read once at startup, kept in memory with
// a gzip copy and an ETag, and answered with a strict Content-Security-Policy:
// scripts and styles from the hub only, nothing inline, nothing framed.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  // The sign-in form is never submitted by the browser (the page reads it), so no form may post anywhere.
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const PACKAGE_NAME = 'storegw';
/** Where the files are in the source tree, from the package root. */
export const SOURCE_DIR = 'src/fleet/dashboard/public';

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer | undefined;
  etag: string;
}

/** The package root above `from`: the nearest folder whose package.json is storegw's. */
function packageRoot(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // Not ours (or unreadable): keep looking above.
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The folder with the dashboard's files, and where it was looked for. From
 * source (src/fleet/dashboard/serve.ts) that is ./public next to this module;
 * from dist (dist/src/fleet/dashboard/serve.js) tsc copied no files, so it is
 * the source folder in the package root (package.json "files" ships it). One
 * folder, whichever way the hub runs: nothing to copy, nothing to forget.
 */
export function findDashboardDir(moduleUrl: string = import.meta.url): { dir: string | undefined; tried: string[] } {
  const here = dirname(fileURLToPath(moduleUrl));
  const root = packageRoot(here);
  const tried = [join(here, 'public'), ...(root ? [join(root, SOURCE_DIR)] : [])];
  const dir = tried.find((d) => existsSync(join(d, 'index.html')));
  return { dir, tried };
}

function asset(name: string, body: Buffer): Asset {
  const type = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
  const compressible = /^(text\/|image\/svg)/.test(type) && body.length > 1024;
  return { type, body, gzip: compressible ? gzipSync(body, { level: 9 }) : undefined, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** Reads the dashboard's files (names as served under /assets/) and uPlot's. Throws saying what is missing. */
export function loadDashboardAssets(dir: string): Map<string, Asset> {
  const files = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    // The .d.ts files type the pure modules for the tests; the browser never asks for them.
    if (name.endsWith('.d.ts') || CONTENT_TYPES[extname(name)] === undefined) continue;
    const file = join(dir, name);
    if (statSync(file).isFile()) files.set(name, asset(name, readFileSync(file)));
  }
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  files.set('vendor/uplot.js', asset('uplot.js', readFileSync(join(uplot, 'dist', 'uPlot.esm.js'))));
  files.set('vendor/uplot.css', asset('uplot.css', readFileSync(join(uplot, 'dist', 'uPlot.min.css'))));
  return files;
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset): FastifyReply {
  void reply.headers(SECURITY_HEADERS).header('content-type', a.type).header('cache-control', 'no-cache').header('etag', a.etag).header('vary', 'accept-encoding');
  if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
  if (a.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(a.gzip);
  return reply.send(a.body);
}

export function dashboardRoutes(app: FastifyInstance, logger: Logger, found: { dir: string | undefined; tried: string[] } = findDashboardDir()): void {
  let files: Map<string, Asset> | undefined;
  let problem: string | undefined;
  if (found.dir === undefined) {
    problem = `the dashboard's files are not in ${found.tried.join(' nor ')}`;
  } else {
    try {
      files = loadDashboardAssets(found.dir);
    } catch (e) {
      problem = `cannot read the dashboard's files: ${(e as Error).message}`;
    }
  }
  // The ops API works without the page: say why there is none, and keep going.
  if (problem !== undefined) logger.error({ tried: found.tried }, `${problem}; the hub serves its API but no dashboard`);
  const index = files?.get('index.html');

  app.get('/', async (req, reply) => {
    if (!index) return reply.code(503).headers(SECURITY_HEADERS).type('text/plain; charset=utf-8').send(`storegw hub: no dashboard here (${problem ?? 'index.html missing'}). The ops API under /v1/ works.\n`);
    return send(req, reply, index);
  });

  app.get<{ Params: { '*': string } }>('/assets/*', async (req, reply) => {
    // Only names read at startup: nothing from the request reaches the file system.
    const a = req.params['*'] === 'index.html' ? undefined : files?.get(req.params['*']);
    if (!a) return reply.code(404).headers(SECURITY_HEADERS).send({ error: 'not_found' });
    return send(req, reply, a);
  });
}
