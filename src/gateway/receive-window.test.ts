import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { kernelShrinksWindows, setReceiveWindow } from './receive-window.js';

describe('receive window', () => {
  it('reads whether the kernel shrinks an announced window: only 1 says so; 0, or a kernel without the setting (before 6.5), does not', () => {
    expect(kernelShrinksWindows(() => '1\n')).toBe(true);
    expect(kernelShrinksWindows(() => '0\n')).toBe(false);
    expect(
      kernelShrinksWindows(() => {
        throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      }),
    ).toBe(false);
  });

  it('says so, and throws nothing, when a socket has no descriptor to set it on', () => {
    const s = new Socket();
    expect(setReceiveWindow(s, 4096)).toBe(false);
    s.destroy();
    expect(setReceiveWindow(s, 4096)).toBe(false);
  });
});
