// Just enough of RFC 6455 framing for a relay that passes bytes through
// untouched: where frames end in one direction of the stream (so the gateway
// can put its own close frame between two of the ERP's, never inside one), and
// the close frame itself. Pure.

/** Follows frame boundaries in one direction of a WebSocket stream, reading headers only (payloads are skipped, never held). */
export class FrameBoundaries {
  /** Bytes of a frame header read so far (at most 14). */
  #header: number[] = [];
  /** Payload bytes of the current frame still to come. */
  #payloadLeft = 0;

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, chunk.length - i);
        this.#payloadLeft -= take;
        i += take;
        continue;
      }
      this.#header.push(chunk[i++]!);
      if (this.#header.length === headerLength(this.#header)) {
        this.#payloadLeft = payloadLength(this.#header);
        this.#header = [];
      }
    }
  }

  /** True between two frames: a frame written now would not split one already under way. */
  get atBoundary(): boolean {
    return this.#header.length === 0 && this.#payloadLeft === 0;
  }
}

/** The full header length once its first two bytes are known (base, extended length, masking key). */
function headerLength(h: readonly number[]): number | undefined {
  if (h.length < 2) return undefined;
  const len7 = h[1]! & 0x7f;
  const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const mask = h[1]! & 0x80 ? 4 : 0;
  return 2 + extended + mask;
}

function payloadLength(h: readonly number[]): number {
  const len7 = h[1]! & 0x7f;
  if (len7 === 126) return (h[2]! << 8) | h[3]!;
  // A 64-bit length past 2^53 loses precision here; such a frame never ends in practice anyway.
  if (len7 === 127) return h.slice(2, 10).reduce((n, b) => n * 256 + b, 0);
  return len7;
}

/** Close codes the gateway itself sends (RFC 6455 §7.4.1). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_SERVICE_RESTART = 1012;

/** An unmasked close frame, as a server sends it. `reason`: the gateway's own short ASCII text (a control frame holds 125 bytes). */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'latin1').subarray(0, 123);
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88; // FIN + opcode 8 (close)
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}
