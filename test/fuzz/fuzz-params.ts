// Shared settings of the property tests: one fixed seed (FUZZ_SEED to replay
// another), bounded runs (FUZZ_RUNS_SCALE to run more or fewer). fast-check
// prints the seed and the counterexample's path when a property fails, so a
// failure is reproduced with `FUZZ_SEED=<seed> npx vitest run <file>`.
import fc from 'fast-check';

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_261_122);
const SCALE = Number(process.env.FUZZ_RUNS_SCALE ?? 1);

export function runs(n: number): number {
  return Math.max(1, Math.round(n * (Number.isFinite(SCALE) && SCALE > 0 ? SCALE : 1)));
}

/** fc.assert with the fixed seed and `numRuns` runs; the failure message names the seed. */
export function check<Ts extends [unknown, ...unknown[]]>(property: fc.IProperty<Ts>, numRuns: number): void {
  fc.assert(property, { seed: FUZZ_SEED, numRuns: runs(numRuns), endOnFailure: false });
}

export async function checkAsync<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>, numRuns: number): Promise<void> {
  await fc.assert(property, { seed: FUZZ_SEED, numRuns: runs(numRuns) });
}

/** Characters that break naive parsers: separators, regex metacharacters, line terminators, controls, non-ASCII. */
export const TRICKY_CHARS = [
  'a', 'b', 'Z', '0', '.', '-', '_', '~', '*', '?', '+', '(', ')', '[', ']', '^', '$', '|', '{', '}', '\\', '/', '%', ' ', ';', ':', '@', '=', '&', '#', "'", '"',
  '\t', '\n', '\r', '\u0000', '\u007f', '\u0085', '\u00a0', '\u00e9', '\u2028', '\u2029', '\ufeff', '\uff0e', '\u{1f600}',
];

export const trickyString = (maxLength = 12) => fc.array(fc.constantFrom(...TRICKY_CHARS), { maxLength }).map((cs) => cs.join(''));
