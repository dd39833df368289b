import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WanRelay } from './wan-relay.js';

let echo: Server | undefined;
let relay: WanRelay | undefined;
afterEach(async () => {
  await relay?.close();
  await new Promise<void>((r) => (echo ? echo.close(() => r()) : r()));
  echo = relay = undefined;
});

async function start(): Promise<WanRelay> {
  echo = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
  relay = await WanRelay.start(`http://127.0.0.1:${(echo.address() as AddressInfo).port}`);
  return relay;
}

function open(r: WanRelay): Promise<Socket> {
  const { port } = new URL(r.url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends `bytes` and resolves with what came back once `bytes.length` bytes did, or with what came within `withinMs`. */
function roundTrip(s: Socket, bytes: Buffer, withinMs = 5000): Promise<Buffer> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    let n = 0;
    const done = () => {
      s.off('data', onData);
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    };
    const onData = (c: Buffer) => {
      got.push(c);
      n += c.length;
      if (n >= bytes.length) done();
    };
    const timer = setTimeout(done, withinMs);
    s.on('data', onData);
    s.write(bytes);
  });
}

describe('WAN relay', () => {
  it('relays both ways when up', async () => {
    const s = await open(await start());
    expect((await roundTrip(s, Buffer.from('hello'))).toString()).toBe('hello');
    s.destroy();
  });

  it('adds latency each way and throttles', async () => {
    const r = await start();
    const s = await open(r);
    r.set({ latencyMs: 100 });
    let t0 = performance.now();
    await roundTrip(s, Buffer.from('x'));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(195);
    r.set({ latencyMs: 0, bytesPerSec: 200_000 });
    const big = Buffer.alloc(100_000, 7);
    t0 = performance.now();
    const back = await roundTrip(s, big);
    expect(back.equals(big)).toBe(true);
    // 100 kB each way at 200 kB/s: at least half a second.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(450);
    s.destroy();
  });

  it('holds everything while cut and delivers it whole and in order once restored', async () => {
    const r = await start();
    const s = await open(r);
    r.set({ state: 'cut' });
    const payload = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    const pending = roundTrip(s, payload, 10_000);
    const late = await open(r);
    const early = await roundTrip(late, Buffer.from('new connection'), 300);
    expect(early.length).toBe(0);
    late.destroy();
    r.set({ state: 'up' });
    expect((await pending).equals(payload)).toBe(true);
    s.destroy();
  });

  it('resets open connections when dropping', async () => {
    const r = await start();
    const s = await open(r);
    const closed = new Promise<string>((resolve) => {
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.on('close', () => resolve('closed'));
    });
    r.set({ state: 'drop' });
    expect(['ECONNRESET', 'closed']).toContain(await closed);
  });
});
