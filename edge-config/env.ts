// ${NAME} substitution in configuration values. It runs on the parsed YAML tree,
// not on the text, so a variable's value can never change the document's shape.
import { parse as parseYamlScalar } from 'yaml';

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface EnvProblem {
  path: (string | number)[];
  message: string;
}

function substituteString(text: string, env: NodeJS.ProcessEnv, missing: string[]): unknown {
  const whole = /^\$\{[^}]+\}$/.test(text);
  const replaced = text.replace(VAR, (_all, name: string, fallback: string | undefined) => {
    const value = env[name];
    if (value !== undefined) return value;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return '';
  });
  // A value that is exactly one variable takes the variable's scalar type, so
  // `port: ${PORT}` gives a number.
  if (whole && replaced !== '') {
    try {
      const scalar: unknown = parseYamlScalar(replaced);
      if (typeof scalar === 'number' || typeof scalar === 'boolean') return scalar;
    } catch {
      // not a plain scalar: keep the string
    }
  }
  return replaced;
}

/**
 * Returns a copy of `tree` with variables replaced; problems name the path of
 * each missing variable, and of any YAML alias that refers to a node holding
 * it (a circular structure, which no configuration value can be).
 */
export function substituteEnv(tree: unknown, env: NodeJS.ProcessEnv, problems: EnvProblem[], path: (string | number)[] = [], within: Set<object> = new Set()): unknown {
  if (typeof tree === 'string') {
    const missing: string[] = [];
    const out = substituteString(tree, env, missing);
    for (const name of missing) problems.push({ path, message: `environment variable ${name} is not set` });
    return out;
  }
  if (tree === null || typeof tree !== 'object') return tree;
  if (within.has(tree)) {
    problems.push({ path, message: 'a YAML alias refers to a node that contains it (circular structure)' });
    return null;
  }
  within.add(tree);
  try {
    if (Array.isArray(tree)) return tree.map((v, i) => substituteEnv(v, env, problems, [...path, i], within));
    const out: Record<string, unknown> = {};
    // defineProperty: a key named __proto__ stays a key (and is refused as unknown), never the object's prototype.
    for (const [k, v] of Object.entries(tree)) Object.defineProperty(out, k, { value: substituteEnv(v, env, problems, [...path, k], within), enumerable: true, writable: true, configurable: true });
    return out;
  } finally {
    within.delete(tree);
  }
}
