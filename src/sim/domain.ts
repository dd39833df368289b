// The subset of Odoo search domains the simulator's read-back answers: a list
// of [field, operator, value] terms, all of which must hold (Odoo's implicit
// AND), with operator '=' or 'in'. Anything else ('|', '!', other operators)
// is refused rather than guessed at. Pure.

export type Term = { field: string; op: '='; value: unknown } | { field: string; op: 'in'; values: unknown[] };

export function parseDomain(v: unknown): Term[] | { error: string } {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return { error: 'a domain must be a list' };
  const terms: Term[] = [];
  for (const t of v) {
    // An explicit '&' between terms means what the implicit AND means.
    if (t === '&') continue;
    if (!Array.isArray(t) || t.length !== 3 || typeof t[0] !== 'string') return { error: `unsupported domain term ${JSON.stringify(t)}: the simulator reads [field, '=' | 'in', value] terms only` };
    const [field, op, value] = t as [string, unknown, unknown];
    if (op === '=') terms.push({ field, op, value });
    else if (op === 'in' && Array.isArray(value)) terms.push({ field, op, values: value });
    else return { error: `unsupported domain term ${JSON.stringify(t)}: the simulator reads [field, '=' | 'in', value] terms only` };
  }
  return terms;
}

export function matches(record: Record<string, unknown>, terms: readonly Term[]): boolean {
  return terms.every((t) => (t.op === '=' ? record[t.field] === t.value : t.values.includes(record[t.field])));
}
