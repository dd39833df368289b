// A deliberately small JSON path: dotted keys and [n] indexes, optionally
// starting with "$." — enough to name an Odoo POS order's uuid inside a
// JSON-RPC body (params.args[0][0].uuid) without a query language. One [*]
// names a batch: the array before it, and the key below each element.
// With the configuration, which names these paths and checks them as it loads;
// the journal's keys (sync/) and read-back checks use them from here.

export type JsonPath = (string | number)[];

// A key must follow "." except at the very start; sticky so nothing is skipped.
const TOKEN = /(?:^|\.)([A-Za-z_][A-Za-z0-9_-]*)|\[([0-9]+)\]/y;

export function parseJsonPath(text: string): JsonPath {
  const body = text.replace(/^\$\.?/, '');
  const out: JsonPath = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < body.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(body);
    if (!m) throw new Error(`invalid JSON path "${text}" at "${body.slice(at)}"`);
    out.push(m[1] !== undefined ? m[1] : Number(m[2]));
  }
  if (out.length === 0) throw new Error(`invalid JSON path "${text}": empty`);
  return out;
}

/** The value at `path`, or undefined when any step is missing or of the wrong kind. */
export interface BatchPath {
  /** Where the array of items is. */
  items: JsonPath;
  /** Where each item's key is, below the item. */
  key: JsonPath;
}

/** Splits "a.b[*].c" into the array's path and the key's path below each element; undefined when there is no [*]. */
export function parseBatchPath(text: string): BatchPath | undefined {
  const parts = text.split('[*]');
  if (parts.length === 1) return undefined;
  if (parts.length > 2) throw new Error(`invalid JSON path "${text}": at most one [*]`);
  const [items = '', key = ''] = parts;
  if (!key.startsWith('.')) throw new Error(`invalid JSON path "${text}": [*] must be followed by the key below each item, e.g. [*].uuid`);
  return { items: parseJsonPath(items), key: parseJsonPath(key.slice(1)) };
}

export function getJsonPath(value: unknown, path: JsonPath): unknown {
  let cur = value;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[step];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
      if (!Object.hasOwn(cur, step)) return undefined;
      cur = (cur as Record<string, unknown>)[step];
    }
  }
  return cur;
}

/** A copy of `value` with the value at `path` replaced (the containers on the way copied, the rest shared). */
export function setJsonPath(value: unknown, path: JsonPath, replacement: unknown): unknown {
  const [step, ...rest] = path;
  if (step === undefined) return replacement;
  const child = (container: unknown) => setJsonPath((container as Record<string | number, unknown>)[step], rest, replacement);
  if (typeof step === 'number' && Array.isArray(value)) return value.map((v, i) => (i === step ? child(value) : v));
  if (typeof step === 'string' && value !== null && typeof value === 'object' && !Array.isArray(value)) return { ...value, [step]: child(value) };
  throw new Error(`no ${typeof step === 'number' ? `[${step}]` : step} to replace`);
}
