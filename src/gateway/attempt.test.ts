import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { uplinkTo } from '../../test/support/upstream.js';
import type { PathView } from '../link/path-view.js';
import { attemptThrough, type AttemptContext } from './attempt.js';
import { deliver } from './deliver.js';
import type { Upstream } from './upstreams.js';

const FIBER_UP: PathView[] = [{ name: 'fiber', state: 'up', score: 1, metered: false, allowClasses: ['critical', 'interactive', 'normal', 'bulk'] }];

let server: Server | undefined;
let upstream: Upstream | undefined;
afterEach(async () => {
  await upstream?.pool.destroy();
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = upstream = undefined;
});

/** An ERP answering with `answer`, and a context whose verdicts are recorded. */
async function erp(answer: Parameters<typeof createServer>[1]): Promise<{ ctx: AttemptContext; verdicts: [string, boolean][] }> {
  server = createServer(answer);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const uplink = uplinkTo(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  upstream = uplink.upstream;
  const verdicts: [string, boolean][] = [];
  const ctx: AttemptContext = { upstreams: new Map([['fiber', upstream]]), pathViews: FIBER_UP, classes: uplink.classes, pathOutcome: (p, ok) => verdicts.push([p, ok]) };
  return { ctx, verdicts };
}

const call = { cls: 'critical' as const, kind: 'live' as const, method: 'POST', target: '/x', headers: {}, body: Buffer.from('{}'), timeoutMs: 2000, maxQueueMs: 1000 };
const entry = { cls: 'critical' as const, idemKey: 'k1', method: 'POST', target: '/x', headers: {}, body: Buffer.from('{}') };

describe('one attempt through the uplinks', () => {
  it('judges the path once, however often it is asked', async () => {
    const { ctx, verdicts } = await erp((_req, res) => res.end('{}'));
    const attempt = await attemptThrough(call, ctx);
    expect(attempt).toMatchObject({ path: 'fiber', result: { ok: true, statusCode: 200 } });
    attempt!.judge();
    attempt!.judge(true);
    expect(verdicts).toEqual([['fiber', true]]);
    if (attempt!.result.ok) attempt!.result.body.resume();
  });

  it('is no attempt when no path can carry the class', async () => {
    const { ctx, verdicts } = await erp((_req, res) => res.end('{}'));
    expect(await attemptThrough(call, { ...ctx, pathViews: [] })).toBeUndefined();
    expect(verdicts).toEqual([]);
  });

  it('a delivery judges the path once its answer is read whole: an answer cut off counts against it', async () => {
    const { ctx, verdicts } = await erp((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const delivered = await deliver(entry, { ...ctx, kind: 'replay', timeoutMs: 2000, maxResponseBytes: 1 << 20 });
    expect(delivered).toMatchObject({ outcome: { kind: 'lost' }, path: 'fiber' });
    expect(verdicts).toEqual([['fiber', false]]);
  });

  it('a delivery the ERP answered whole says the path works', async () => {
    const { ctx, verdicts } = await erp((_req, res) => res.end('{"jsonrpc":"2.0","id":1,"result":true}'));
    const delivered = await deliver(entry, { ...ctx, kind: 'replay', timeoutMs: 2000, maxResponseBytes: 1 << 20 });
    expect(delivered).toMatchObject({ outcome: { kind: 'response', status: 200 }, path: 'fiber' });
    expect(verdicts).toEqual([['fiber', true]]);
  });
});
