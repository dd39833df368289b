// What a benchmark section hands back to the runner (run.ts), which prints it
// and keeps its JSON under test-output/bench/<name>.json.
import type { Table } from './table.js';

export interface SectionReport {
  tables: Table[];
  /** Printed after the tables: verdicts on the section's goals. */
  summary: string[];
  json: unknown;
}

export interface BenchSection {
  /** Also the JSON file's name and what `npm run bench -- NAME` selects. */
  name: string;
  description: string;
  run(): Promise<SectionReport>;
}
