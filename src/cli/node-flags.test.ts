import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { CLI } from '../../test/support/gateway-process.js';
import { gatewayYaml, tempDir } from '../../test/support/gateway.js';
import { youngGenerationWarning } from './node-flags.js';

describe('youngGenerationWarning', () => {
  it.each([
    ['on the command line', ['--max-semi-space-size=16'], undefined],
    ['in NODE_OPTIONS, among others', [], '--enable-source-maps --max-semi-space-size=16'],
    ['spelt with underscores', [], '--max_semi_space_size=8'],
  ])('says nothing when the cap is set %s', (_, execArgv, nodeOptions) => {
    expect(youngGenerationWarning(execArgv, nodeOptions)).toBeUndefined();
  });

  it.each([
    ['no flags at all', [], undefined],
    ['other flags only', ['--enable-source-maps'], '--max-old-space-size=512'],
    ['the floor set, not the cap', ['--min-semi-space-size=16'], ''],
  ])('warns with %s, and names the fix', (_, execArgv, nodeOptions) => {
    expect(youngGenerationWarning(execArgv, nodeOptions)).toMatch(/NODE_OPTIONS=--max-semi-space-size=16.*storegw-gateway\.service/);
  });
});

interface LogLine {
  level: number;
  msg: string;
}

/** The gateway's log lines up to 'gateway started'; then it is stopped and its folder removed. */
async function linesAtStart(nodeOptions: string): Promise<LogLine[]> {
  const dir = tempDir();
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, gatewayYaml('http://127.0.0.1:9', '  - name: everything\n    match: { path: /* }\n    class: normal\n    mode: passthrough'));
  const proc = spawn(process.execPath, [CLI, 'gateway', '--config', config], { env: { ...process.env, NODE_OPTIONS: nodeOptions, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'], cwd: dir });
  const lines: LogLine[] = [];
  for await (const line of createInterface({ input: proc.stdout })) {
    const entry = JSON.parse(line) as LogLine;
    lines.push(entry);
    if (entry.msg === 'gateway started') break;
  }
  proc.kill('SIGTERM');
  await once(proc, 'exit');
  rmSync(dir, { recursive: true, force: true });
  return lines;
}

describe('storegw gateway, the process', () => {
  it('warns at start when node runs without the young generation cap, and not when NODE_OPTIONS sets it as the unit does', async () => {
    const [without, withCap] = await Promise.all([linesAtStart(''), linesAtStart('--max-semi-space-size=16')]);
    const warning = (lines: LogLine[]) => lines.filter((l) => l.level === 40 && l.msg.startsWith('node runs without --max-semi-space-size'));
    expect(warning(without)).toHaveLength(1);
    expect(warning(withCap)).toEqual([]);
    expect(withCap.at(-1)?.msg).toBe('gateway started');
  });
});
