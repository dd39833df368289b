// A path's pools on real loopback sockets: with a byte budget, the next bulk
// request goes down the connection whose answer is being read, behind it;
// every other request gets a connection of its own.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/pos.js';
import { uplinkTo } from '../../test/support/upstream.js';
import type { Upstream } from './upstreams.js';

let server: Server | undefined;
let upstream: Upstream | undefined;
afterEach(async () => {
  await upstream?.pool.close();
  await upstream?.bulk?.pool.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = upstream = undefined;
});

/** An ERP that starts each answer at once and ends it when the test says; which socket each request came on. */
async function holdingErp() {
  const seen: { socket: Socket; res: ServerResponse }[] = [];
  let connections = 0;
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '4' });
    res.write('ab');
    seen.push({ socket: req.socket, res });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen, connections: () => connections };
}

function pathTo(url: string, byteBudget: boolean): Upstream {
  return uplinkTo(url, `    maxInFlight: 4\n    byteBudget: { enabled: ${byteBudget} }`).upstream;
}

/** A GET whose answer has begun (its headers are in), and what remains of it. */
async function begun(pool: Pool, path: string) {
  const res = await pool.request({ method: 'GET', path });
  return res.body.text();
}

describe('a path with a byte budget', () => {
  it('sends the next bulk request behind the answer being read, on its connection', async () => {
    const erp = await holdingErp();
    upstream = pathTo(erp.url, true);
    const first = begun(upstream.bulk!.pool, '/images/1');
    await eventually(() => expect(erp.seen).toHaveLength(1));
    const second = begun(upstream.bulk!.pool, '/images/2');
    // Both sent before the first answer ends (on one connection or, unpipelined, on two); the ERP reads the second only after it.
    await eventually(() => expect(upstream!.bulk!.pool.stats.running).toBe(2));
    erp.seen[0]!.res.end('cd');
    await eventually(() => expect(erp.seen).toHaveLength(2));
    erp.seen[1]!.res.end('ef');
    expect(await first).toBe('abcd');
    expect(await second).toBe('abef');
    expect(erp.seen[1]!.socket).toBe(erp.seen[0]!.socket);
    expect(erp.connections()).toBe(1);
  });

  it('keeps every other request on a connection of its own', async () => {
    const erp = await holdingErp();
    upstream = pathTo(erp.url, true);
    const first = begun(upstream.pool, '/checkout/1');
    await eventually(() => expect(erp.seen).toHaveLength(1));
    const second = begun(upstream.pool, '/checkout/2');
    await eventually(() => expect(erp.seen).toHaveLength(2));
    for (const s of erp.seen) s.res.end('cd');
    expect([await first, await second]).toEqual(['abcd', 'abcd']);
    expect(erp.seen[1]!.socket).not.toBe(erp.seen[0]!.socket);
    expect(erp.connections()).toBe(2);
  });
});

describe('a path without a byte budget', () => {
  it('has no bulk connections of its own', () => {
    upstream = pathTo('http://127.0.0.1:9', false);
    expect(upstream.bulk).toBeUndefined();
  });
});
