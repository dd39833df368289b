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
  try {
    fc.assert(property, { seed: FUZZ_SEED, numRuns: runs(numRuns), endOnFailure: false });
  } catch (e) {
    throw printableError(e);
  }
}

export async function checkAsync<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>, numRuns: number): Promise<void> {
  try {
    await fc.assert(property, { seed: FUZZ_SEED, numRuns: runs(numRuns) });
  } catch (e) {
    throw printableError(e);
  }
}

/** Characters that break naive parsers: separators, regex metacharacters, line terminators, controls, non-ASCII. */
export const TRICKY_CHARS = [
  'a', 'b', 'Z', '0', '.', '-', '_', '~', '*', '?', '+', '(', ')', '[', ']', '^', '$', '|', '{', '}', '\\', '/', '%', ' ', ';', ':', '@', '=', '&', '#', "'", '"',
  '\t', '\n', '\r', '\u0000', '\u007f', '\u0085', '\u00a0', '\u00e9', '\u2028', '\u2029', '\ufeff', '\uff0e', '\u{1f600}',
];

export const trickyString = (maxLength = 12) => fc.array(fc.constantFrom(...TRICKY_CHARS), { maxLength }).map((cs) => cs.join(''));

// Fuzz input is malformed on purpose: NUL, other controls, lone surrogates. Printed raw,
// it garbles the console and makes the whole test log "binary" to grep (CI once read
// "0 passed" off a green run that way). Whatever of it a test prints (failure messages,
// warnings, notes) goes through `printable` first.

// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * `s` with every C0/C1 control, DEL, U+2028/2029, BOM and lone surrogate written as an
 * escape (`\n`, `\x00`, `\u2028`, `\ud800`): the result prints as plain text on one line.
 * With `keepNewlines`, line feeds stay (for multi-line text such as a log or a warning).
 * Backslashes are left as they are: this is for reading, not for parsing back.
 */
export function printable(s: string, { keepNewlines = false } = {}): string {
  return s.replace(UNPRINTABLE, (c) => {
    if (keepNewlines && c === '\n') return c;
    const named = NAMED[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * Makes the process warnings emitted until the returned function is called printable
 * (YAMLWarning, for one, quotes the malformed source line it warns about), then
 * hands them on to Node as before. For beforeAll/afterAll.
 */
export function printableWarnings(): () => void {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    if (typeof warning === 'string') warning = printable(warning, { keepNewlines: true });
    else if (warning instanceof Error) warning.message = printable(warning.message, { keepNewlines: true });
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  return () => {
    process.emitWarning = emitWarning;
  };
}

/** `v` with its strings printable, through plain objects and arrays (for an assertion's actual and expected). */
function printableValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return printable(v);
  if (v === null || typeof v !== 'object' || depth > 8) return v;
  if (Array.isArray(v)) return v.map((x) => printableValue(x, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [printable(k), printableValue(x, depth + 1)]));
}

/**
 * A failed property's error (and its causes), made printable in place: fast-check
 * quotes the counterexample escaped, but the assertion that failed inside the property
 * (its cause, whose diff vitest prints) holds the malformed input raw.
 */
export function printableError(e: unknown, depth = 0): unknown {
  if (!(e instanceof Error) || depth > 4) return e;
  const err = e as Error & { actual?: unknown; expected?: unknown };
  err.message = printable(err.message, { keepNewlines: true });
  if (err.stack !== undefined) err.stack = printable(err.stack, { keepNewlines: true });
  if ('actual' in err) err.actual = printableValue(err.actual);
  if ('expected' in err) err.expected = printableValue(err.expected);
  if (err.cause !== undefined) printableError(err.cause, depth + 1);
  return err;
}
