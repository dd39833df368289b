import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, limitStream, readBounded } from './body.js';

describe('request bodies', () => {
  it('reads a body whole, and refuses one past its limit', async () => {
    const ok = new PassThrough();
    ok.end('{"a":1}');
    expect((await readBounded(ok, 10)).toString()).toBe('{"a":1}');
    const big = new PassThrough();
    big.end('x'.repeat(11));
    await expect(readBounded(big, 10)).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it('passes a streamed body on and fails it past its limit', async () => {
    const source = new PassThrough();
    const limited = limitStream(source, 4);
    source.write('abc');
    expect((limited.read() as Buffer).toString()).toBe('abc');
    source.write('de');
    const [err] = await once(limited, 'error');
    expect(err).toBeInstanceOf(BodyTooLargeError);
  });

  it('lets a client that hangs up after its reader stopped reading fail quietly (an unheard error would crash the gateway)', async () => {
    const source = new PassThrough();
    const limited = limitStream(source, 100);
    source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    // Not events.once: it listens for 'error' too, which is what must be safe without a listener.
    await new Promise((resolve) => limited.on('close', resolve));
    expect(limited.destroyed).toBe(true);
  });

  it('fails a body whose stream closes before it ended, and not one that ended first', async () => {
    const cut = new PassThrough();
    cut.write('{"a":');
    const reading = readBounded(cut, 100);
    cut.destroy();
    await expect(reading).rejects.toThrow('request closed before its body ended');
    const whole = new PassThrough();
    const read = readBounded(whole, 100);
    whole.end('{"a":1}');
    await once(whole, 'close');
    expect((await read).toString()).toBe('{"a":1}');
  });
});
