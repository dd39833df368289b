// Reads stopped on real loopback sockets: a sender that writes far more than
// the kernel's buffers gets nothing read from it while the reads are stopped,
// whatever the stream does meanwhile, and all of it once they go on. A paused
// socket, beside it, goes on reading.
import { connect, createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { closedAfterEach } from '../../test/support/loopback.js';
import { resumeReads, stopReads } from './socket-reads.js';

const TOTAL = 8 * 1024 * 1024;

const opened = closedAfterEach();

/** A server that writes TOTAL bytes to each connection as soon as it is made, and a connection to it (its buffer 64 KiB, as undici's). */
async function flooded(): Promise<Socket> {
  const server = createServer((s) => {
    opened.sockets.push(s);
    s.on('error', () => undefined);
    s.end(Buffer.alloc(TOTAL, 1));
  });
  opened.server = server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1' });
  opened.sockets.push(socket);
  await once(socket, 'connect');
  return socket;
}

describe('socket reads', () => {
  it('stopped, leave the bytes in the kernel even when the stream is read meanwhile; resumed, all of them come', async () => {
    const socket = await flooded();
    expect(stopReads(socket)).toBe(true);
    await sleep(200);
    // What undici does when its parser goes on: a read() must not start the reads again.
    expect(socket.read()).toBeNull();
    await sleep(100);
    expect(socket.bytesRead).toBe(0);

    // Stopped twice (two holds' worth): one resume is enough.
    stopReads(socket);
    let got = 0;
    socket.on('data', (chunk: Buffer) => (got += chunk.length));
    await sleep(100);
    expect(got).toBe(0);
    resumeReads(socket);
    await once(socket, 'end');
    expect(got).toBe(TOTAL);
  });

  it('are not held by pausing the socket: Node goes on reading into its buffer', async () => {
    const socket = await flooded();
    socket.pause();
    await sleep(300);
    expect(socket.bytesRead).toBeGreaterThan(0);
    expect(socket.readableLength).toBe(socket.bytesRead);
  });

  it('of a socket gone are neither stopped nor resumed', async () => {
    const socket = await flooded();
    socket.destroy();
    expect(stopReads(socket)).toBe(false);
    expect(() => resumeReads(socket)).not.toThrow();
  });
});
