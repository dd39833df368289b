// Starts a worker thread on a module of this tree, compiled or not. Compiled
// (dist/, the package), the worker's .js file is there. Run from the
// TypeScript sources, as vitest runs them, it is not: vitest compiles the
// modules it loads itself, and a worker thread is a fresh Node isolate that
// vitest never sees. There Node runs the .ts source itself (type stripping,
// unflagged since Node 22.18: a worker's modules must use erasable syntax
// only, which the tests that run it from source hold them to), and the
// `./x.js` specifiers the sources use are resolved to the `./x.ts` beside the
// importer, as tsc resolves them. So a test always runs the worker code it
// sees, never a dist/ build that may be stale or missing.
import { existsSync } from 'node:fs';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `file`: the compiled worker module (`new URL('./x-worker.js', import.meta.url)`). */
export function startWorker(file: URL, options: WorkerOptions): Worker {
  if (existsSync(file) || !file.pathname.endsWith('.js')) return new Worker(file, options);
  return new Worker(fromSource(new URL(file.href.replace(/\.js$/, '.ts'))), { ...options, eval: true });
}

/** A CommonJS bootstrap (what an eval worker runs) that maps .js imports of .ts modules to the .ts, then loads `entry`. */
function fromSource(entry: URL): string {
  return `
const { registerHooks } = require('node:module');
registerHooks({
  resolve(specifier, context, nextResolve) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../');
    if (relative && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) return nextResolve(specifier.slice(0, -3) + '.ts', context);
    return nextResolve(specifier, context);
  },
});
import(${JSON.stringify(entry.href)});
`;
}
