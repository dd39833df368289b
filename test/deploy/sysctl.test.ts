// deploy/sysctl/90-storegw.conf: it sets what the gateway checks before it
// warns (receive-window.ts reads the same key), and sysctl(8) applies it as
// written, here in a network namespace of its own (the key is per namespace),
// so nothing on this host changes.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelShrinksWindows } from '../../src/gateway/receive-window.js';

const FILE = 'deploy/sysctl/90-storegw.conf';
const settings = readFileSync(FILE, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '' && !l.startsWith('#'));
const root = process.getuid?.() === 0;
const ns = `sgwsysctl${randomBytes(3).toString('hex')}`;

afterAll(() => {
  if (root) spawnSync('ip', ['netns', 'del', ns]);
});

describe('deploy/sysctl/90-storegw.conf', () => {
  it('sets only net.ipv4.tcp_shrink_window to 1, the setting the gateway reads before it warns', () => {
    expect(settings).toEqual(['net.ipv4.tcp_shrink_window = 1']);
    const [key, value] = settings[0]!.split(' = ');
    expect(kernelShrinksWindows(() => value!)).toBe(true);
    expect(`/proc/sys/${key!.replaceAll('.', '/')}`).toBe('/proc/sys/net/ipv4/tcp_shrink_window');
  });

  it.runIf(root)('is applied by sysctl -p as written, in a network namespace of its own', () => {
    execFileSync('ip', ['netns', 'add', ns]);
    const read = () => execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/tcp_shrink_window'], { encoding: 'utf8' });
    expect(read().trim()).toBe('0');
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-p', FILE]);
    expect(kernelShrinksWindows(read)).toBe(true);
  });
});
