// deploy/sysctl/90-storegw.conf: it sets what the gateway checks before it
// warns (receive-window.ts reads those keys' files), and sysctl(8) applies it
// as written, here in a network namespace of its own (the keys are per
// namespace), so nothing on this host changes.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW_STEP, kernelShrinksWindows, RMEM_MAX_SYSCTL, SHRINK_WINDOW_SYSCTL, TCP_RMEM_SYSCTL, windowStep } from '../../src/gateway/receive-window.js';
import { dropInSettings, SYSCTL_DROP_IN } from '../support/sysctl-drop-in.js';

const root = process.getuid?.() === 0;
const ns = `sgwsysctl${randomBytes(3).toString('hex')}`;

afterAll(() => {
  if (root) spawnSync('ip', ['netns', 'del', ns]);
});

describe('deploy/sysctl/90-storegw.conf', () => {
  it('sets only the keys whose files the gateway reads before it warns, to values it takes for good', () => {
    const settings = new Map(dropInSettings().map(({ key, value }) => [`/proc/sys/${key.replaceAll('.', '/')}`, value]));
    expect([...settings.keys()].sort()).toEqual([SHRINK_WINDOW_SYSCTL, TCP_RMEM_SYSCTL].sort());
    expect(kernelShrinksWindows(() => settings.get(SHRINK_WINDOW_SYSCTL)!)).toBe(true);
    // With Debian's rmem_max, which the file leaves alone.
    expect(windowStep((f) => (f === RMEM_MAX_SYSCTL ? '212992' : settings.get(f)!))).toBe(DEFAULT_WINDOW_STEP);
  });

  it.runIf(root)('is applied by sysctl -p as written, in a network namespace of its own', () => {
    execFileSync('ip', ['netns', 'add', ns]);
    const read = () => execFileSync('ip', ['netns', 'exec', ns, 'cat', SHRINK_WINDOW_SYSCTL], { encoding: 'utf8' });
    expect(read().trim()).toBe('0');
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-p', SYSCTL_DROP_IN]);
    expect(kernelShrinksWindows(read)).toBe(true);
    const rmem = execFileSync('ip', ['netns', 'exec', ns, 'cat', TCP_RMEM_SYSCTL], { encoding: 'utf8' });
    expect(rmem.trim().split(/\s+/)).toEqual(['4096', '131072', '6291456']);
  });
});
