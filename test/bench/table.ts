// Plain-text tables for benchmark output: readable in a terminal and in a CI
// log, so no colours or box-drawing characters.

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  /** Printed under the table, one per line. */
  notes?: string[];
}

/** Columns after the first hold numbers, so they are right-aligned. */
export function formatTable(t: Table): string {
  const widths = t.columns.map((c, i) => Math.max(c.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [t.title, line(t.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)];
  for (const n of t.notes ?? []) out.push(`  ${n}`);
  return out.join('\n');
}

/** A number with a fixed count of decimals, or a dash when there is none. */
export function num(v: number | undefined, decimals = 0): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}
