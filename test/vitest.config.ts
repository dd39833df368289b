import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['src/**/*.test.ts', 'sync/**/*.test.ts', 'edge-config/**/*.test.ts', 'test/**/*.test.ts'],
    // Tests bind real sockets and spawn real processes; two cores are shared.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
