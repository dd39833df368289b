// The pipeline every storegw configuration goes through (the gateway's and the
// hub's): YAML → ${ENV} → JSON Schema with defaults → cross-field checks, every
// problem reported at once as FILE:path: message (line N).
import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { substituteEnv, type EnvProblem } from './env.js';
import { ajvProblems, ConfigError, type ConfigProblem } from './errors.js';

function lineOf(doc: Document, counter: LineCounter, path: (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** The validated document (defaults applied). Throws ConfigError listing every problem. */
export function parseConfigDocument<T>(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
  validate: ValidateFunction<T>,
  semantic: (data: T) => ConfigProblem[],
): T {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      // One syntax error tends to cascade into dozens; the first few locate it.
      doc.errors.slice(0, 3).map((e) => ({ path: [], message: `YAML: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`, line: e.linePos?.[0].line })),
    );
  }
  let js: unknown;
  try {
    js = doc.toJS();
  } catch (e) {
    // yaml refuses alias expansions that would blow up (a "billion laughs" document).
    throw new ConfigError(file, [{ path: [], message: `YAML: ${(e as Error).message.split('\n')[0] ?? ''}` }]);
  }
  const envProblems: EnvProblem[] = [];
  const data = substituteEnv(js, env, envProblems);
  const withLines = (ps: ConfigProblem[]) => ps.map((p) => ({ ...p, line: p.line ?? lineOf(doc, counter, p.path) }));
  if (envProblems.length > 0) throw new ConfigError(file, withLines(envProblems));
  if (!validate(data)) throw new ConfigError(file, withLines(ajvProblems(validate.errors ?? [])));
  const problems = semantic(data);
  if (problems.length > 0) throw new ConfigError(file, withLines(problems));
  return data;
}

/** A configuration file's text, or a ConfigError naming it. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ path: [], message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
}
