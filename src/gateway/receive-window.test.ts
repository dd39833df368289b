import { connect, createServer, Socket } from 'node:net';
import { once } from 'node:events';
import { setsockopt } from 'sockopt';
import { describe, expect, it } from 'vitest';
import { budgetWarnings, DEFAULT_WINDOW_STEP, IPPROTO_TCP, kernelShrinksWindows, leastWindow, RMEM_MAX_SYSCTL, segmentSize, setReceiveWindow, TCP_MAXSEG, TCP_RMEM_SYSCTL, windowStep } from './receive-window.js';

const sysctls = (tcpRmem: string, rmemMax: string) => (file: string) => {
  if (file === TCP_RMEM_SYSCTL) return `${tcpRmem}\n`;
  if (file === RMEM_MAX_SYSCTL) return `${rmemMax}\n`;
  throw new Error(`not read here: ${file}`);
};

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

  it('knows the step windows are announced in from the window scale the kernel chooses: from the larger of tcp_rmem\'s max and rmem_max', () => {
    // Linux's default tcp_rmem, and Debian's rmem_max: scale 7.
    expect(windowStep(sysctls('4096\t131072\t6291456', '212992'))).toBe(128);
    // A host tuned for long fat pipes: scale 10.
    expect(windowStep(sysctls('4096\t131072\t33554432', '4194304'))).toBe(1024);
    // rmem_max counts too, when it is the larger.
    expect(windowStep(sysctls('4096\t131072\t6291456', '67108864'))).toBe(2048);
    // Small buffers: no scaling at all.
    expect(windowStep(sysctls('4096\t16384\t32768', '32768'))).toBe(1);
    // Unreadable: the step of the host the budget was first measured on.
    expect(windowStep(sysctls('garbage', 'x'))).toBe(1024);
    expect(
      windowStep(() => {
        throw new Error('EACCES');
      }),
    ).toBe(1024);
  });

  it('gives at least one full segment, timestamp option included, rounded up to the step: never a window the kernel would announce as none', () => {
    // A WireGuard tunnel's MSS (MTU 1420, timestamps on).
    expect(leastWindow(1368, 128)).toBe(1408);
    expect(leastWindow(1368, 1024)).toBe(2048);
    expect(leastWindow(1368, 1)).toBe(1380);
    expect(leastWindow(1396, 128)).toBe(1408);
    expect(leastWindow(1397, 128)).toBe(1536);
  });

  it.runIf(process.platform === 'linux')('reads a connection\'s MSS as the far end announced it', async () => {
    const server = createServer((s) => s.resume());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    // The far end announces what a WireGuard tunnel's MTU of 1420 gives: 1380.
    setsockopt(server as unknown as Socket, IPPROTO_TCP, TCP_MAXSEG, 1380);
    const c = connect((server.address() as { port: number }).port, '127.0.0.1');
    await once(c, 'connect');
    expect(segmentSize(c)).toBe(1368);
    c.destroy();
    expect(segmentSize(c)).toBeUndefined();
    server.close();
  });

  it('warns a path with a byte budget of each setting that costs it, and of nothing on a host set up as deploy/sysctl says', () => {
    expect(budgetWarnings({ shrinks: true, step: DEFAULT_WINDOW_STEP })).toEqual([]);
    expect(budgetWarnings({ shrinks: true, step: 64 })).toEqual([]);
    expect(budgetWarnings({ shrinks: false, step: DEFAULT_WINDOW_STEP })).toEqual([expect.stringMatching(/tcp_shrink_window is not 1/)]);
    expect(budgetWarnings({ shrinks: true, step: 1024 })).toEqual([expect.stringMatching(/steps of 1024 bytes .* least window through a WireGuard tunnel is 2048 bytes/)]);
    expect(budgetWarnings({ shrinks: false, step: 1024 })).toHaveLength(2);
  });

  it('says so, and throws nothing, when a socket has no descriptor to set it on', () => {
    const s = new Socket();
    expect(setReceiveWindow(s, 4096)).toBe(false);
    s.destroy();
    expect(setReceiveWindow(s, 4096)).toBe(false);
  });
});
