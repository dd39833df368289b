#!/usr/bin/env node
// Prints the closing line CI reads, `vitest: N passed, N failed, N skipped`, from
// the counts test/support/count-reporter.ts wrote (test/vitest.config.ts adds it
// when STOREGW_TEST_COUNTS names a file). Usage: node .ci/vitest-counts.mjs COUNTS.json
//
// The counts are vitest's own summary's: passed excludes the `test.fails` tests that
// failed as expected, skipped excludes todo tests; both are named on a line of their
// own before the closing line. A counts file that is missing,
// empty, not JSON or without these counts is no count at all: the script says so on
// stderr and exits 2, never printing a line of zeros.
import { readFileSync } from 'node:fs';

const file = process.argv[2];

/** Text from the run, made safe to print (test names and errors quote fuzz input). */
// eslint-disable-next-line no-control-regex
const printable = (s) => String(s).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
});

function cannot(why) {
  process.stderr.write(`.ci/run: cannot read vitest's test counts: ${why}\n`);
  process.exit(2);
}

if (!file) cannot('no counts file given (usage: node .ci/vitest-counts.mjs COUNTS.json)');

let text;
try {
  text = readFileSync(file, 'utf8');
} catch (e) {
  cannot(`no counts at ${file} (${e.code ?? e.message}): vitest did not finish its run, or did not run at all`);
}
if (text.trim() === '') cannot(`the counts file ${file} is empty`);

let counts;
try {
  counts = JSON.parse(text);
} catch (e) {
  cannot(`the counts file ${file} is not JSON (${printable(e.message)})`);
}
if (counts === null || typeof counts !== 'object' || Array.isArray(counts)) cannot(`the counts file ${file} is not an object`);

const count = (key) => {
  const n = counts[key];
  if (!Number.isSafeInteger(n) || n < 0) cannot(`the counts file ${file} has no count ${key} (found ${printable(JSON.stringify(n))})`);
  return n;
};
const passed = count('passed');
const expectedFail = count('expectedFail');
const failed = count('failed');
const skipped = count('skipped');
const todo = count('todo');
const notRun = count('notRun');

// Notes (stderr) for what the three counts alone do not show.
if (notRun > 0) process.stderr.write(`vitest: ${notRun} tests were collected and never finished (the run was ${printable(counts.reason)})\n`);
if (count('unhandledErrors') > 0) process.stderr.write(`vitest: ${counts.unhandledErrors} unhandled errors during the run\n`);
for (const f of Array.isArray(counts.failedFiles) ? counts.failedFiles : []) {
  process.stderr.write(`vitest: ${printable(f?.file)} failed outside its tests${f?.error ? `: ${printable(f.error).slice(0, 300)}` : ''}\n`);
}

const aside = [expectedFail > 0 && `${expectedFail} expected fail (test.fails: known limits pinned, failing as they should)`, todo > 0 && `${todo} todo`].filter(Boolean);
if (aside.length > 0) process.stdout.write(`vitest: ${aside.join(', ')}\n`);
process.stdout.write(`vitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
