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
