import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { forward } from './forward.js';
import { uplinkTo } from '../../test/support/upstream.js';
import type { Upstream } from './upstreams.js';

const call = (timeoutMs: number) => ({ method: 'POST', target: '/validate', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"id":1}'), timeoutMs, cls: 'critical' as const, kind: 'live' as const, maxQueueMs: 1000 });

let server: Server | undefined;
let upstream: Upstream | undefined;
afterEach(async () => {
  await upstream?.pool.destroy();
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = upstream = undefined;
});

describe('forward', () => {
  it('calls a deadline passed on a request the ERP had whole "maybe sent": it may have been applied', async () => {
    let received = 0;
    server = createServer((req) => {
      req.resume();
      req.on('end', () => received++);
      // Never answers: a hanging ERP, which may well commit before it would have answered.
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    upstream = uplinkTo(`http://127.0.0.1:${(server.address() as AddressInfo).port}`).upstream;
    const result = await forward(upstream, call(200));
    expect(received).toBe(1);
    expect(result).toMatchObject({ ok: false, failure: 'timeout', maybeSent: true });
  });

  it('calls a refused connection not sent', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    upstream = uplinkTo(`http://127.0.0.1:${port}`).upstream;
    expect(await forward(upstream, call(1000))).toMatchObject({ ok: false, failure: 'unreachable', maybeSent: false });
  });

  // Node 22's resetAndDestroy() still ends the connection in order when writes are queued (checked on 22.23.5);
  // Node 24, the target, and 26 reset it.
  it.skipIf(Number(process.versions.node.split('.')[0]) < 24)('resets the connection of a request it gave up on: what the kernel still held of it never reaches the ERP', async () => {
    // An ERP that does not read yet (a link that is down): the upload waits in the send queues.
    let erpSide: Socket | undefined;
    const tcp = createTcpServer((socket) => {
      socket.pause();
      erpSide = socket;
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    try {
      upstream = uplinkTo(`http://127.0.0.1:${(tcp.address() as AddressInfo).port}`).upstream;
      const result = await forward(upstream, { ...call(200), body: Buffer.alloc(8 << 20, 'x') });
      expect(result).toMatchObject({ ok: false, failure: 'timeout', maybeSent: true });
      // The link is back: a closed socket would now deliver what it had queued, then an orderly end.
      const end = await new Promise<string>((resolve) => {
        erpSide!.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        erpSide!.on('end', () => resolve('end'));
        erpSide!.resume();
      });
      expect(end).toBe('ECONNRESET');
    } finally {
      erpSide?.destroy();
      await new Promise((r) => tcp.close(r));
    }
  });
});
