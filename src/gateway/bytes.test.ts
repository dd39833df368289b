// The bulk lane's connections on real loopback sockets: once the path is
// measured, the kernel holds each at the budget's receive window, with the
// buffer's autotuning (which would lift it again) off. Linux only, as the
// window is.
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { getsockopt } from 'sockopt';
import { buildConnector } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { MIN_WINDOW_BYTES } from './byte-budget.js';
import { BulkLane } from './bytes.js';
import { BUFFER_PER_WINDOW, IPPROTO_TCP, SO_RCVBUF, SOL_SOCKET, TCP_WINDOW_CLAMP } from './receive-window.js';

const clamp = (s: Socket) => getsockopt(s, IPPROTO_TCP, TCP_WINDOW_CLAMP);

function connectThrough(connect: buildConnector.connector, port: number): Promise<Socket> {
  return new Promise((resolve, reject) =>
    connect({ hostname: '127.0.0.1', host: '127.0.0.1', protocol: 'http:', port: String(port) }, (err, socket) => (err ? reject(err) : resolve(socket as Socket))),
  );
}

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

describe.runIf(process.platform === 'linux')('bulk lane connections', () => {
  it("hold the budget's receive window once the path is measured, also the ones opened after; other connections keep the kernel's", async () => {
    server = createServer((s) => s.resume());
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const lane = new BulkLane({ targetMs: 50, maxHoldMs: 500 });
    const connect = lane.connector(buildConnector({}));

    const before = await connectThrough(connect, port);
    const plain = await connectThrough(buildConnector({}), port);
    sockets.push(before, plain);
    const kernels = clamp(plain);
    // Not measured yet: the first answer comes at the kernel's window.
    expect(clamp(before)).toBe(kernels);
    expect(kernels).toBeGreaterThan(32 * 1024);

    // One bulk answer: 1 000 bytes with its headers, 25 000 more at least 100 ms later, so at most 250 000 bytes/s.
    // The rate is measured once 100 ms of reading is complete (throughput.ts), and a 100 ms timer may fire a
    // millisecond early by the clock it is measured with: 150 ms.
    const body = new PassThrough();
    const metered = lane.meter(body, { 'content-length': '26000' });
    metered.resume();
    body.write(Buffer.alloc(1000));
    await sleep(150);
    body.end(Buffer.alloc(25_000));
    await finished(metered);

    // rate × targetMs: at most 250 000 × 0.05.
    const window = clamp(before);
    expect(window).toBeGreaterThanOrEqual(MIN_WINDOW_BYTES);
    expect(window).toBeLessThanOrEqual(12_500);
    // The buffer was set (the kernel doubles what it is given), which is what turns its autotuning off.
    expect(getsockopt(before, SOL_SOCKET, SO_RCVBUF)).toBe(2 * BUFFER_PER_WINDOW * window);

    const after = await connectThrough(connect, port);
    sockets.push(after);
    expect(clamp(after)).toBe(window);
    expect(clamp(plain)).toBe(kernels);
  });
});
