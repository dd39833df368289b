// Many rows in one statement (`VALUES (...), (...)`, which both SQLite and
// PostgreSQL take, and name column1, column2... in both): an ingest batch is
// a few statements instead of a few per message, which is what a database a
// network round trip away needs.

/** Rows per statement: its bound parameters stay far below SQLite's 32,766 and PostgreSQL's 65,535. */
const ROWS_PER_STATEMENT = 500;

/** `items` in runs of at most one statement's rows. */
export function statementRuns<T>(items: readonly T[]): T[][] {
  const runs: T[][] = [];
  for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) runs.push(items.slice(i, i + ROWS_PER_STATEMENT));
  return runs;
}

/** `VALUES (row), (row)...` for `count` rows; `row` is one row's placeholders, e.g. "?, CAST(? AS BIGINT)". */
export const values = (count: number, row: string): string => `VALUES ${Array.from({ length: count }, () => `(${row})`).join(', ')}`;

/**
 * `items` in rounds in which no key comes twice: round k holds each key's k-th item, in the
 * order added. One multi-row upsert cannot touch a row twice (PostgreSQL refuses it), and
 * rounds written one after the other keep each key's items in their order.
 */
export function rounds<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const seen = new Map<string, number>();
  const out: T[][] = [];
  for (const item of items) {
    const k = key(item);
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    (out[n] ??= []).push(item);
  }
  return out;
}
