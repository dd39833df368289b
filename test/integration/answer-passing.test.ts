// The ERP's answer passed to the client past fastify's reply (replies.ts):
// what fastify's send path did for it before must still happen. A path with
// one slot shows a slot kept by an answer nobody reads: the next request
// would wait for it and be answered 503 instead of 200.
import { connect } from 'node:net';
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/pos.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const ROUTES = `  - name: all
    match: { path: /* }
    class: normal
    timeoutMs: 5000`;

describe('an ERP answer passed to the client', () => {
  let upstream: TestUpstream;
  let t: TestGateway;
  /** Answers the ERP holds until the test lets them go. */
  const held: ServerResponse[] = [];
  /** Answers the ERP saw closed before it had ended them. */
  let cutOff = 0;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      res.once('close', () => {
        if (!res.writableFinished) cutOff++;
      });
      if (req.url === '/held') return void held.push(res);
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(Buffer.alloc(64 * 1024, 1));
        return void held.push(res);
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url }));
    });
    const yaml = gatewayYaml(upstream.url, ROUTES).replace(`baseUrl: ${upstream.url}`, `baseUrl: ${upstream.url}\n    maxInFlight: 1`);
    t = await startTestGateway(yaml);
  });

  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  /** A request on a socket of its own, which the test breaks off. */
  function openRequest(path: string) {
    const { port } = new URL(t.gw.url);
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nhost: store\r\n\r\n`));
    let received = 0;
    socket.on('data', (c: Buffer) => (received += c.length));
    socket.on('error', () => undefined);
    return { socket, received: () => received };
  }

  it('frees the slot when the client hangs up before the ERP answers', async () => {
    const before = held.length;
    const client = openRequest('/held');
    await eventually(() => expect(held.length).toBe(before + 1));
    client.socket.destroy();
    // The client is gone by the time the answer comes: one too large to pass on in a single write.
    await new Promise((r) => setTimeout(r, 50));
    held[before]!.end(Buffer.alloc(1024 * 1024, 2));
    const res = await request(`${t.gw.url}/next`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ url: '/next' });
  });

  it('frees the slot and lets the ERP go when the client hangs up mid-answer', async () => {
    const before = held.length;
    const cutBefore = cutOff;
    const client = openRequest('/stream');
    await eventually(() => expect(client.received()).toBeGreaterThan(0));
    client.socket.destroy();
    // The answer's upstream request is torn down at once, not left stalled until the route's idle timeout (5 s) ends it.
    await eventually(() => expect(cutOff).toBe(cutBefore + 1), 2000);
    expect(held.length).toBe(before + 1);
    const res = await request(`${t.gw.url}/next`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });

  it('carries the gateway’s request id and the path, and closes the connection after it once the gateway drains', async () => {
    const before = held.length;
    const pending = request(`${t.gw.url}/held`, { headers: { 'x-request-id': 'till-7' } });
    await eventually(() => expect(held.length).toBe(before + 1));
    const closing = t.gw.close();
    // The id the till sent is the one it can find in the gateway's logs: an ERP's own does not replace it.
    held[before]!.setHeader('x-request-id', 'erp-42');
    held[before]!.end('last');
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('till-7');
    expect(res.headers['x-gateway-path']).toBe('fiber');
    expect(res.headers.connection).toBe('close');
    expect(await res.body.text()).toBe('last');
    await closing;
  });
});
