// Leaving a socket's bytes in the kernel, for the byte budget's hold (bytes.ts).
// socket.pause() stops a stream's flow, not its reads: Node goes on reading
// from the kernel into the socket's buffer (64 KiB for undici's sockets), and
// undici takes its bytes with read(), which works paused. TCP's window then
// stays open and the far end goes on sending into the link. With the handle's
// reads stopped, the bytes stay in the kernel's receive buffer and the window
// closes within what is already on its way; once reading starts again the
// kernel announces the window as soon as the buffer is read.
import type { Socket } from 'node:net';

/** What Node's stream handles (TCP, TLS) have for this: libuv's read start and stop, and net's flag saying reads are on. */
interface StreamHandle {
  reading: boolean;
  readStart(): number;
  readStop(): number;
}

/** The socket's handle; none once it is destroyed (net drops it at once). */
function handleOf(socket: Socket): StreamHandle | undefined {
  const handle = (socket as unknown as { _handle?: Partial<StreamHandle> | null })._handle;
  return typeof handle?.readStop === 'function' && typeof handle.readStart === 'function' ? (handle as StreamHandle) : undefined;
}

/** Stops reading `socket` from the kernel. True when its reads were on and now are stopped: resumeReads(socket) later. */
export function stopReads(socket: Socket): boolean {
  const handle = handleOf(socket);
  if (!handle?.reading) return false;
  // `reading` stays set, so a read() meanwhile (net's _read) does not start the reads again.
  return handle.readStop() === 0;
}

/** Reads again what stopReads stopped; nothing when Node has stopped the reads itself since (its buffer full) or the socket is gone. */
export function resumeReads(socket: Socket): void {
  const handle = handleOf(socket);
  if (handle?.reading) handle.readStart();
}
