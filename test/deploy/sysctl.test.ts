// deploy/sysctl/90-storegw.conf: it sets what the gateway checks before it
// warns (receive-window.ts reads that key's file), and sysctl(8) applies it as
// written, here in a network namespace of its own (the key is per namespace),
// so nothing on this host changes.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelShrinksWindows, SHRINK_WINDOW_SYSCTL } from '../../src/gateway/receive-window.js';
import { dropInSettings, SYSCTL_DROP_IN } from '../support/sysctl-drop-in.js';

const root = process.getuid?.() === 0;
const ns = `sgwsysctl${randomBytes(3).toString('hex')}`;

afterAll(() => {
  if (root) spawnSync('ip', ['netns', 'del', ns]);
});

describe('deploy/sysctl/90-storegw.conf', () => {
  it('sets only the key whose file the gateway reads before it warns, to the value it takes for yes', () => {
    const settings = dropInSettings();
    expect(settings).toHaveLength(1);
    const [{ key, value }] = settings as [{ key: string; value: string }];
    expect(`/proc/sys/${key.replaceAll('.', '/')}`).toBe(SHRINK_WINDOW_SYSCTL);
    expect(kernelShrinksWindows(() => value)).toBe(true);
  });

  it.runIf(root)('is applied by sysctl -p as written, in a network namespace of its own', () => {
    execFileSync('ip', ['netns', 'add', ns]);
    const read = () => execFileSync('ip', ['netns', 'exec', ns, 'cat', SHRINK_WINDOW_SYSCTL], { encoding: 'utf8' });
    expect(read().trim()).toBe('0');
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-p', SYSCTL_DROP_IN]);
    expect(kernelShrinksWindows(read)).toBe(true);
  });
});
