// The soak in `npm test`: a 3-minute run (test/soak/run.ts) when CI is set
// (as .ci/run sets it) or STOREGW_SOAK_MINUTES asks for one; otherwise it is
// skipped, saying so (npm run soak -- --minutes N runs it by hand). It runs
// as its own process, the compiled runner, exactly as `npm run soak` does.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isCI } from '../lab/describe-lab.js';

const RUNNER = fileURLToPath(new URL('../../dist/test/soak/run.js', import.meta.url));
const MINUTES = Number(process.env.STOREGW_SOAK_MINUTES ?? (isCI() ? 3 : 0));

describe('soak', () => {
  it.skipIf(!(MINUTES > 0))(`${MINUTES || 3} minutes of mixed load with random faults: nothing lost or doubled, memory bounded (runs when CI is set or STOREGW_SOAK_MINUTES)`, { timeout: (MINUTES * 60 + 360) * 1000 }, async () => {
    const child = spawn(process.execPath, [RUNNER, '--minutes', String(MINUTES)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    console.log(out);
    expect(out).toContain('SOAK PASSED');
    expect(code).toBe(0);
  });
});
