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

/** Returns a copy of `tree` with variables replaced; problems name the path of each missing variable. */
export function substituteEnv(tree: unknown, env: NodeJS.ProcessEnv, problems: EnvProblem[], path: (string | number)[] = []): unknown {
  if (typeof tree === 'string') {
    const missing: string[] = [];
    const out = substituteString(tree, env, missing);
    for (const name of missing) problems.push({ path, message: `environment variable ${name} is not set` });
    return out;
  }
  if (Array.isArray(tree)) return tree.map((v, i) => substituteEnv(v, env, problems, [...path, i]));
  if (tree !== null && typeof tree === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(tree)) out[k] = substituteEnv(v, env, problems, [...path, k]);
    return out;
  }
  return tree;
}
