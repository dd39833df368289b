// .ci/run's closing line, end to end: a nested vitest runs a suite whose counts
// are known, with the project's count reporter, and .ci/vitest-counts.mjs turns
// its file into the line CI reads — the same counts as vitest's own summary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'storegw-counts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(fail: boolean) {
  const counts = join(dir, `counts-${fail}.json`);
  const vitest = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/ci/fixture/vitest.fixture.config.ts'], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', STOREGW_TEST_COUNTS: counts, ...(fail && { STOREGW_FIXTURE_FAIL: '1' }) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const line = spawnSync(process.execPath, [join(root, '.ci/vitest-counts.mjs'), counts], { encoding: 'utf8' });
  return { vitest, line };
}

describe('CI closing line', () => {
  it("restates vitest's own summary, whatever the suite printed", () => {
    const { vitest, line } = run(false);
    expect(vitest.status).toBe(0);
    // Not printed on failure: the fixture writes raw bytes to its console, on purpose.
    expect(/Tests\s+3 passed \| 1 expected fail \| 2 skipped \| 1 todo \(7\)/.test(vitest.stdout), "vitest's summary").toBe(true);
    expect(line.status).toBe(0);
    expect(line.stdout).toBe('vitest: 1 expected fail (test.fails: known limits pinned, failing as they should), 1 todo\nvitest: 3 passed, 0 failed, 2 skipped\n');
  });

  it('shows a failing test', () => {
    const { vitest, line } = run(true);
    expect(vitest.status).not.toBe(0);
    expect(/Tests\s+1 failed \| 3 passed/.test(vitest.stdout), "vitest's summary").toBe(true);
    expect(line.stdout.trim().split('\n').at(-1)).toBe('vitest: 3 passed, 1 failed, 1 skipped');
  });

  it.each([
    ['missing', undefined, /no counts at/],
    ['empty', '', /is empty/],
    ['garbled', '{"passed": 3, "fail', /not JSON/],
    ['without a count', '{"passed": 3}', /no count expectedFail/],
  ])('fails, printing no zeros, when the counts file is %s', (_name, content, why) => {
    const file = join(dir, `bad-${_name}.json`);
    if (content !== undefined) writeFileSync(file, content);
    const line = spawnSync(process.execPath, [join(root, '.ci/vitest-counts.mjs'), file], { encoding: 'utf8' });
    expect(line.status).toBe(2);
    expect(line.stdout).toBe('');
    expect(line.stderr).toMatch(why);
  });
});
