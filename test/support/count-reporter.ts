// A vitest reporter that writes the run's counts, as vitest's own summary
// states them, to the file named by STOREGW_TEST_COUNTS: .ci/run's closing
// line is made from it. vitest's JSON report cannot tell a `test.fails` test
// that failed as expected from a pass; the reporter API can.
import { writeFileSync } from 'node:fs';
import type { SerializedError } from 'vitest';
import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

export interface RunCounts {
  passed: number;
  /** `test.fails` tests that failed, as they should: the summary's "expected fail". */
  expectedFail: number;
  failed: number;
  skipped: number;
  todo: number;
  /** Collected, never finished (an interrupted run). */
  notRun: number;
  /** Files that failed with no failed test in them: they did not load, or a hook failed. */
  failedFiles: { file: string; error: string }[];
  unhandledErrors: number;
  reason: TestRunEndReason;
}

export function countRun(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): RunCounts {
  const c: RunCounts = { passed: 0, expectedFail: 0, failed: 0, skipped: 0, todo: 0, notRun: 0, failedFiles: [], unhandledErrors: unhandledErrors.length, reason };
  for (const m of modules) {
    let failedTests = 0;
    for (const t of m.children.allTests()) {
      const state = t.result().state;
      if (state === 'passed') c[t.options.fails ? 'expectedFail' : 'passed']++;
      else if (state === 'failed') {
        c.failed++;
        failedTests++;
      } else if (state === 'skipped') c[t.options.mode === 'todo' ? 'todo' : 'skipped']++;
      else c.notRun++;
    }
    if (m.state() === 'failed' && failedTests === 0) c.failedFiles.push({ file: m.relativeModuleId, error: (m.errors()[0]?.message ?? '').split('\n')[0] ?? '' });
  }
  return c;
}

export default class CountReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    const file = process.env.STOREGW_TEST_COUNTS;
    if (file) writeFileSync(file, JSON.stringify(countRun(modules, unhandledErrors, reason)));
  }
}
