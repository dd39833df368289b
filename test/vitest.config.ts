import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Tests that measure real links, real clocks and real processes under load (the
 * network lab, the fault matrix, the browser) or that burn both cores for a
 * minute (the image build). Two cores are all CI has: these run one file at a
 * time, after the rest, so that neither starves the other into a false failure.
 */
const ALONE = ['test/lab/**/*.test.ts', 'test/faults/**/*.test.ts', 'test/browser/**/*.test.ts', 'test/soak/**/*.test.ts', 'test/deploy/dockerfile.test.ts'];

/**
 * Where the run's counts go, when set: `.ci/run` points it at a temp file and
 * makes its closing line from it (.ci/vitest-counts.mjs) rather than scraping the
 * console, which the tests' output can make unreadable.
 */
const COUNTS = process.env.STOREGW_TEST_COUNTS;

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    // Tests bind real sockets and spawn real processes.
    pool: 'forks',
    // vitest keeps a core to itself by default, which on CI's two cores is one fork: the main
    // group's files mostly wait on sockets and child processes, and two forks halve its time.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: COUNTS ? ['default', './test/support/count-reporter.ts'] : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['src/**/*.test.ts', 'sync/**/*.test.ts', 'edge-config/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ALONE,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'alone',
          include: ALONE,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
