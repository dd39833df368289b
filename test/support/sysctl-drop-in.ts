// deploy/sysctl/90-storegw.conf as sysctl(8) reads it, for the bench that sets a
// lab store up from it and the test that checks it: `key = value` lines,
// comments and blank lines left out.
import { readFileSync } from 'node:fs';

export const SYSCTL_DROP_IN = 'deploy/sysctl/90-storegw.conf';

export function dropInSettings(): { key: string; value: string }[] {
  return readFileSync(SYSCTL_DROP_IN, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^([\w.]+)\s*=\s*(.*)$/.exec(l);
      if (!m) throw new Error(`${SYSCTL_DROP_IN}: not "key = value": ${l}`);
      return { key: m[1]!, value: m[2]! };
    });
}
