import { readFileSync, statSync } from 'node:fs';

export interface Secret {
  value: string;
  /** Set when the file can be read by users other than its owner. */
  warning?: string;
}

/** Reads a token from a file (first line, trimmed). Throws naming the file, never the content. */
export function readSecretFile(file: string): Secret {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read secret (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const value = (text.split(/\r?\n/)[0] ?? '').trim();
  if (value.length < 16) throw new Error(`${file}: secret must be at least 16 characters`);
  const mode = statSync(file).mode & 0o077;
  return mode === 0 ? { value } : { value, warning: `${file} is readable by group or others (mode ${(statSync(file).mode & 0o777).toString(8)}); chmod 600 it` };
}
