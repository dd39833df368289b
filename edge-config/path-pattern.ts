// Route path patterns. Here rather than with route classification
// (src/gateway/classify.ts) because loading a configuration checks every
// pattern compiles, and loading a configuration must not load the gateway.

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Compiles a path pattern. Exact unless it holds "*": a "*" matches within one
 * segment; a final "/*" or "/**" matches the prefix itself and anything below
 * it; "**" elsewhere matches across segments.
 */
export function compilePathPattern(pattern: string): RegExp {
  if (!pattern.startsWith('/')) throw new Error(`path pattern must start with "/": ${pattern}`);
  let tail = '';
  let head = pattern;
  const rest = /\/\*\*?$/.exec(pattern);
  if (rest) {
    head = pattern.slice(0, rest.index);
    tail = '(?:/.*)?';
  }
  const body = head
    .split('**')
    .map((part) => part.split('*').map(escapeRegExp).join('[^/]*'))
    .join('.*');
  // dotAll: a decoded path may hold line terminators (%E2%80%A8), and "**" spans them too.
  return new RegExp(`^${body}${tail}$`, 's');
}
