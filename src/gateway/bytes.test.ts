// The bulk lane's connections on real loopback sockets: once the path is
// measured, the kernel holds each at the budget's receive window, with the
// buffer's autotuning (which would lift it again) off; while critical work
// waits, nothing more is read from them. Linux only, as the window is.
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { getsockopt, setsockopt } from 'sockopt';
import { buildConnector, Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { closedAfterEach } from '../../test/support/loopback.js';
import { BulkLane } from './bytes.js';
import { BUFFER_PER_WINDOW, IPPROTO_TCP, leastWindow, SO_RCVBUF, SOL_SOCKET, TCP_MAXSEG, TCP_WINDOW_CLAMP, windowStep } from './receive-window.js';

const clamp = (s: Socket) => getsockopt(s, IPPROTO_TCP, TCP_WINDOW_CLAMP);

function connectThrough(connect: buildConnector.connector, port: number): Promise<Socket> {
  return new Promise((resolve, reject) =>
    connect({ hostname: '127.0.0.1', host: '127.0.0.1', protocol: 'http:', port: String(port) }, (err, socket) => (err ? reject(err) : resolve(socket as Socket))),
  );
}

const opened = closedAfterEach();

/** A server whose connections announce a WireGuard tunnel's MSS (1380; 1368 with timestamps), as the region's ingress does through one. */
async function tunnelSizedServer(): Promise<number> {
  const server = createServer((s) => s.resume());
  opened.server = server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  setsockopt(server as unknown as Socket, IPPROTO_TCP, TCP_MAXSEG, 1380);
  return (server.address() as { port: number }).port;
}

/** One bulk answer through the lane: 1 000 bytes with its headers, 25 000 more at least 100 ms later, so at most 250 000 bytes/s. */
async function measure(lane: BulkLane): Promise<void> {
  const body = new PassThrough();
  const metered = lane.meter(body, { 'content-length': '26000' });
  metered.resume();
  body.write(Buffer.alloc(1000));
  // The rate is measured once 100 ms of reading is complete (throughput.ts), and a 100 ms timer, started a
  // moment before the first bytes are read, may end under 100 ms of reading on a loaded machine: 150 ms.
  await sleep(150);
  body.end(Buffer.alloc(25_000));
  await finished(metered);
}

describe.runIf(process.platform === 'linux')('bulk lane connections', () => {
  it("hold the budget's receive window once the path is measured, also the ones opened after; other connections keep the kernel's", async () => {
    const port = await tunnelSizedServer();
    const lane = new BulkLane({ targetMs: 50, maxHoldMs: 500 });
    const connect = lane.connector(buildConnector({}));

    const before = await connectThrough(connect, port);
    const plain = await connectThrough(buildConnector({}), port);
    opened.sockets.push(before, plain);
    const kernels = clamp(plain);
    // Not measured yet: the first answer comes at the kernel's window.
    expect(clamp(before)).toBe(kernels);
    expect(kernels).toBeGreaterThan(32 * 1024);

    await measure(lane);
    // rate × targetMs: at most 250 000 × 0.05, and at least one segment.
    const window = clamp(before);
    expect(window).toBeGreaterThanOrEqual(leastWindow(1368, windowStep()));
    expect(window).toBeLessThanOrEqual(12_500);
    // The buffer was set (the kernel doubles what it is given), which is what turns its autotuning off.
    expect(getsockopt(before, SOL_SOCKET, SO_RCVBUF)).toBe(2 * BUFFER_PER_WINDOW * window);

    const after = await connectThrough(connect, port);
    opened.sockets.push(after);
    expect(clamp(after)).toBe(window);
    expect(clamp(plain)).toBe(kernels);
  });

  it('never get less than one full segment of window, however thin the link or short the target, rounded up to the step this host announces windows in', async () => {
    const port = await tunnelSizedServer();
    // 1 ms of at most 250 000 bytes/s: 250 bytes, under a segment.
    const lane = new BulkLane({ targetMs: 1, maxHoldMs: 500 });
    const connect = lane.connector(buildConnector({}));
    const before = await connectThrough(connect, port);
    opened.sockets.push(before);
    await measure(lane);
    const after = await connectThrough(connect, port);
    opened.sockets.push(after);
    for (const s of [before, after]) expect(clamp(s)).toBe(leastWindow(1368, windowStep()));
  });

  /** A bulk answer of 8 MiB through a pool on the lane's connections, read as it comes; the connection it came on. */
  async function download(lane: BulkLane) {
    const total = 8 * 1024 * 1024;
    const http = createHttpServer((_req, res) => res.end(Buffer.alloc(total, 1)));
    opened.server = http;
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const made: Socket[] = [];
    const plain = buildConnector({});
    const connect = lane.connector((opts, callback) =>
      plain(opts, (err, socket) => {
        if (socket) made.push(socket as Socket);
        (callback as (e: Error | null, s: Socket | null) => void)(err, socket as Socket | null);
      }),
    );
    const pool = new Pool(`http://127.0.0.1:${(http.address() as { port: number }).port}`, { connect });
    const res = await pool.request({ method: 'GET', path: '/' });
    const body = lane.meter(res.body, res.headers);
    const answer = { got: 0, total, body, socket: made[0]!, done: finished(body).finally(() => pool.close()) };
    body.on('data', (chunk: Buffer) => (answer.got += chunk.length));
    return answer;
  }

  /** Critical work starts waiting with the answer's first bytes (on loopback the rest would follow within milliseconds): what its connection had read from the kernel then. */
  async function holdUnderWay(lane: BulkLane, answer: Awaited<ReturnType<typeof download>>): Promise<number> {
    const read = await new Promise<number>((resolve) =>
      answer.body.once('data', () => {
        lane.criticalWaiting(true);
        resolve(answer.socket.bytesRead);
      }),
    );
    expect(read).toBeLessThan(answer.total);
    return read;
  }

  it('are read no further while critical work waits, their bytes left in the kernel, and read to the end once it is done', async () => {
    const lane = new BulkLane({ targetMs: 50, maxHoldMs: 60_000 });
    const answer = await download(lane);
    const read = await holdUnderWay(lane, answer);
    // Not a byte more from the kernel: pausing the answer's stream instead, Node and undici would go on reading into their buffers (64 KiB each at least).
    await sleep(300);
    expect(answer.socket.bytesRead).toBe(read);
    lane.criticalWaiting(false);
    await answer.done;
    expect(answer.got).toBe(answer.total);
  });

  it('are read again when a hold reaches maxHoldMs, critical work still waiting', async () => {
    const lane = new BulkLane({ targetMs: 50, maxHoldMs: 300 });
    const answer = await download(lane);
    const read = await holdUnderWay(lane, answer);
    await sleep(100);
    expect(answer.socket.bytesRead).toBe(read);
    await answer.done;
    expect(answer.got).toBe(answer.total);
    lane.criticalWaiting(false);
  });
});
