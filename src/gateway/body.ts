// Request bodies: read whole (bounded) when the gateway must look inside, or
// streamed with a running byte count when it only passes them on.
import { Transform, type Readable } from 'node:stream';

export class BodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/** Reads the whole body; rejects with BodyTooLargeError past `limit` bytes. Events, not an async iterator: this is on every JSON-RPC request. */
export function readBounded(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        stream.off('data', onData);
        stream.pause();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    // 'close' follows 'end' on every request: the Error (and its stack trace) is made only when it is one.
    let ended = false;
    stream.on('data', onData);
    stream.once('end', () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    });
    stream.once('error', reject);
    stream.once('close', () => {
      if (!ended) reject(new Error('request closed before its body ended'));
    });
  });
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
  // Whoever reads `counter` hears of a failure (a till that hung up mid-upload)
  // while it reads; once it stopped reading (the upstream answered or failed
  // first), nobody would, and an error nobody hears crashes the process.
  counter.on('error', () => {});
  return stream.pipe(counter);
}
