import type { ErrorObject } from 'ajv';

export interface ConfigProblem {
  /** Path inside the document, e.g. ['paths', 0, 'baseUrl']. */
  path: (string | number)[];
  message: string;
  line?: number;
}

/** A configuration that cannot be used. Its message lists every problem as FILE:path: message. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatPath(path: (string | number)[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out === '' ? '(root)' : out;
}

/** Line breaks and other control characters a key or value may hold, escaped: one problem is one line. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, (c) => ({ '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function formatProblem(file: string, p: ConfigProblem): string {
  return `${file}:${oneLine(formatPath(p.path))}: ${oneLine(p.message)}${p.line !== undefined ? ` (line ${p.line})` : ''}`;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
}

/** Turns ajv's errors into problems a store's IT person can act on. */
export function ajvProblems(errors: ErrorObject[]): ConfigProblem[] {
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  // anyOf/oneOf report every branch's failure plus a summary; the summary alone
  // tells which value was wrong, the branch noise does not help.
  const unionPaths = new Set(errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath));
  for (const e of errors) {
    const path = pointerToPath(e.instancePath);
    let message: string;
    if (unionPaths.has(e.instancePath) && e.keyword !== 'anyOf' && e.keyword !== 'oneOf') continue;
    switch (e.keyword) {
      case 'required':
        path.push((e.params as { missingProperty: string }).missingProperty);
        message = 'is required';
        break;
      case 'additionalProperties':
        path.push((e.params as { additionalProperty: string }).additionalProperty);
        message = 'is not a known key (misspelt?)';
        break;
      case 'enum':
        message = `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
        break;
      case 'const':
        message = `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
        break;
      case 'anyOf':
      case 'oneOf':
        message = 'does not have any of the accepted forms';
        break;
      case 'pattern':
        message = `has an invalid format (expected to match ${(e.params as { pattern: string }).pattern})`;
        break;
      default:
        message = e.message ?? 'is invalid';
    }
    const key = `${formatPath(path)}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}
