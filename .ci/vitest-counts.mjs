#!/usr/bin/env node
// Prints the closing line CI reads, `vitest: N passed, N failed, N skipped`, from
// vitest's own JSON report (the `json` reporter; test/vitest.config.ts adds it when
// STOREGW_TEST_JSON_REPORT names a file). Usage: node .ci/vitest-counts.mjs REPORT.json
//
// The counts are the report's, unchanged:
//   passed  = numPassedTests. This includes the `test.fails` tests that failed as
//             expected: vitest's JSON report counts them as passed (it does not mark
//             them), while its console summary lists them apart ("N passed | 2 expected
//             fail"). So the line's passed = the summary's passed + its expected fail.
//   failed  = numFailedTests.
//   skipped = numPendingTests + numTodoTests: skipped and todo tests (the summary's
//             "skipped" and "todo"), neither run.
// A report that is missing, empty, not JSON or without these counts is no count at
// all: the script says so on stderr and exits 2, never printing a line of zeros.
import { readFileSync } from 'node:fs';

const file = process.argv[2];

/** Text from the report, made safe to print (test names and errors quote fuzz input). */
// eslint-disable-next-line no-control-regex
const printable = (s) => String(s).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
});

function cannot(why) {
  process.stderr.write(`.ci/run: cannot read vitest's test counts: ${why}\n`);
  process.exit(2);
}

if (!file) cannot('no report file given (usage: node .ci/vitest-counts.mjs REPORT.json)');

let text;
try {
  text = readFileSync(file, 'utf8');
} catch (e) {
  cannot(`no JSON report at ${file} (${e.code ?? e.message}): vitest did not finish its run, or did not run at all`);
}
if (text.trim() === '') cannot(`the JSON report ${file} is empty`);

let report;
try {
  report = JSON.parse(text);
} catch (e) {
  cannot(`the JSON report ${file} is not JSON (${printable(e.message)})`);
}
if (report === null || typeof report !== 'object' || Array.isArray(report)) cannot(`the JSON report ${file} is not a vitest report (not an object)`);

const count = (key) => {
  const n = report[key];
  if (!Number.isSafeInteger(n) || n < 0) cannot(`the JSON report ${file} has no count ${key} (found ${printable(JSON.stringify(n))})`);
  return n;
};
const total = count('numTotalTests');
const passed = count('numPassedTests');
const failed = count('numFailedTests');
const skipped = count('numPendingTests') + count('numTodoTests');
if (passed + failed + skipped > total) cannot(`the JSON report ${file} does not add up: ${passed} passed + ${failed} failed + ${skipped} skipped > ${total} tests`);

// Notes (stderr) for what the counts alone do not show.
if (passed + failed + skipped < total) process.stderr.write(`vitest: ${total - passed - failed - skipped} of ${total} tests neither passed, failed nor were skipped (they never ran)\n`);
if (Array.isArray(report.testResults)) {
  for (const f of report.testResults) {
    // A file that failed with no failed test in it: it failed to load, or a hook or an unhandled error failed it.
    const tests = Array.isArray(f?.assertionResults) ? f.assertionResults : [];
    if (f?.status === 'failed' && !tests.some((t) => t?.status === 'failed')) {
      const why = String(f.message ?? '').split('\n')[0];
      process.stderr.write(`vitest: ${printable(f.name)} failed outside its tests${why ? `: ${printable(why).slice(0, 300)}` : ''}\n`);
    }
  }
}

process.stdout.write(`vitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
