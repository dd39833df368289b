// A path's byte budget end to end, on loopback with real sockets: while a
// checkout is in flight, the gateway stops reading a bulk download's answer,
// so TCP stops the ERP's side from sending it; once the checkout is answered
// the download goes on to its end. No timing is asserted: the checks are
// where the download stands while the checkout waits, and that it completes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/pos.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/** Larger than every buffer between the ERP and the client (sockets both sides, streams), many times over. */
const TOTAL = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 7);

const ROUTES = `  - name: checkout
    match: { method: POST, path: /checkout }
    class: critical
    timeoutMs: 60000
  - name: images
    match: { method: GET, path: /images/* }
    class: bulk
    timeoutMs: 60000`;

/** The ERP: streams TOTAL bytes for an image as fast as its socket takes them; holds a checkout's answer until told. */
function erp() {
  const state = { written: 0, checkoutSeen: false, answerCheckout: () => {} };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.url === '/checkout') {
      state.checkoutSeen = true;
      state.answerCheckout = () => res.end('{"ok":true}');
      return;
    }
    res.setHeader('content-length', String(TOTAL));
    const more = () => {
      while (state.written < TOTAL) {
        state.written += CHUNK.length;
        if (!res.write(CHUNK)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  };
  return { state, handler };
}

let up: TestUpstream | undefined;
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  await up?.close();
  t = undefined;
  up = undefined;
});

describe('byte budget', () => {
  it('stops reading a bulk answer while a checkout is in flight, and reads it to its end after', async () => {
    const { state, handler } = erp();
    up = await startUpstream(handler);
    const yaml = gatewayYaml(up.url, ROUTES, { extra: 'classes: { bulk: { maxQueueMs: 60000 } }' }).replace(
      /(baseUrl: .*)/,
      // A hold as long as the test needs: by default a slow checkout holds bulk at most 500 ms.
      '$1\n    byteBudget: { enabled: true, maxHoldMs: 60000 }',
    );
    t = await startTestGateway(yaml);

    const download = await request(`${t.gw.url}/images/big`);
    expect(download.statusCode).toBe(200);
    let got = 0;
    download.body.on('data', (c: Buffer) => (got += c.length));
    const done = new Promise((resolve, reject) => download.body.once('end', resolve).once('error', reject));
    await eventually(() => expect(got).toBeGreaterThan(8 * CHUNK.length));

    const checkout = request(`${t.gw.url}/checkout`, { method: 'POST', body: '{}' });
    await eventually(() => expect(state.checkoutSeen).toBe(true));
    // The ERP's writes stop: five looks in a row find it where it was, its download unfinished.
    let last = -1;
    let still = 0;
    await eventually(
      () => {
        still = state.written === last ? still + 1 : 0;
        last = state.written;
        expect(still).toBeGreaterThanOrEqual(5);
      },
      30_000,
      100,
    );
    expect(state.written).toBeLessThan(TOTAL);
    expect(got).toBeLessThan(TOTAL);

    state.answerCheckout();
    const answered = await checkout;
    expect(await answered.body.text()).toBe('{"ok":true}');
    await done;
    expect(got).toBe(TOTAL);
  }, 60_000);
});
