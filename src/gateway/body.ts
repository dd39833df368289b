// Request bodies: read whole (bounded) when the gateway must look inside, or
// streamed with a running byte count when it only passes them on.
import { Transform, type Readable } from 'node:stream';

export class BodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

export async function readBounded(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/** Passes `stream` through, failing with BodyTooLargeError once more than `limit` bytes have gone by. */
export function limitStream(stream: Readable, limit: number): Readable {
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      done(total > limit ? new BodyTooLargeError(limit) : null, chunk);
    },
  });
  stream.on('error', (e) => counter.destroy(e));
  return stream.pipe(counter);
}
