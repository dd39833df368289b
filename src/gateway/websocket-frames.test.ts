import { describe, expect, it } from 'vitest';
import { closeFrame, FrameBoundaries } from './websocket-frames.js';

/** A frame as RFC 6455 §5.2 lays it out, with a payload of `length` bytes. */
function frame(length: number, masked = false): Buffer {
  const ext = length < 126 ? [] : length < 65536 ? [0, 0] : [0, 0, 0, 0, 0, 0, 0, 0];
  const head = Buffer.from([0x82, (masked ? 0x80 : 0) | (length < 126 ? length : length < 65536 ? 126 : 127), ...ext, ...(masked ? [1, 2, 3, 4] : [])]);
  if (length >= 65536) head.writeUInt32BE(length, 6);
  else if (length >= 126) head.writeUInt16BE(length, 2);
  return Buffer.concat([head, Buffer.alloc(length, 7)]);
}

const fed = (...chunks: Buffer[]) => {
  const b = new FrameBoundaries();
  for (const c of chunks) b.feed(c);
  return b.atBoundary;
};

describe('frame boundaries', () => {
  it('is at a boundary before anything and after whole frames, of every length encoding, masked or not', () => {
    expect(new FrameBoundaries().atBoundary).toBe(true);
    expect(fed(frame(0))).toBe(true);
    expect(fed(frame(125), frame(126), frame(65535), frame(65536), frame(300, true))).toBe(true);
    expect(fed(Buffer.concat([frame(5), frame(70_000), frame(2, true)]))).toBe(true);
  });

  it('is inside a frame while its header or payload is not all there', () => {
    const f = frame(70_000);
    for (const cut of [1, 2, 5, 9, 10, 500, f.length - 1]) {
      expect(fed(f.subarray(0, cut)), `cut at ${cut}`).toBe(false);
      expect(fed(f.subarray(0, cut), f.subarray(cut)), `cut at ${cut}, then the rest`).toBe(true);
    }
    expect(fed(frame(3), frame(3, true).subarray(0, 4))).toBe(false);
  });

  it('follows a stream cut into single bytes', () => {
    const stream = Buffer.concat([frame(130), frame(1, true), frame(0)]);
    const b = new FrameBoundaries();
    for (let i = 0; i < stream.length; i++) b.feed(stream.subarray(i, i + 1));
    expect(b.atBoundary).toBe(true);
  });
});

describe('close frame', () => {
  it('is an unmasked FIN close frame with the code and reason', () => {
    expect(closeFrame(1012, 'uplink down')).toEqual(Buffer.concat([Buffer.from([0x88, 13, 0x03, 0xf4]), Buffer.from('uplink down')]));
    expect(fed(closeFrame(1001, 'x'.repeat(200)))).toBe(true);
    expect(closeFrame(1001, 'x'.repeat(200)).length).toBe(127);
  });
});
