// describeLab: a describe block for tests that need a Lab (./topology.ts).
// Where a lab cannot run it is skipped with the reason shown, except in CI
// (env CI set and not "false"/"0"), where it fails with the reason: a CI that
// silently skipped the lab would pass without having tested anything.
import { describe, it } from 'vitest';
import { labSkipReason } from './topology.js';

export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CI?.trim().toLowerCase();
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

export function describeLab(name: string, fn: () => void, reason: string | undefined = labSkipReason(), ci: boolean = isCI()): void {
  if (reason === undefined) {
    describe(name, fn);
    return;
  }
  if (ci) {
    describe(name, () => {
      it('can run the network lab', () => {
        throw new Error(`the network lab cannot run on this CI machine: ${reason}`);
      });
    });
    return;
  }
  // The default reporter lists no skipped tests, so say it once on stderr; the
  // verbose reporter also shows the reason as the note of a skipped test.
  console.warn(`skipped "${name}": ${reason}`);
  describe(name, () => {
    it('network lab', (ctx) => ctx.skip(reason));
    describe.skip('needs the network lab', fn);
  });
}
