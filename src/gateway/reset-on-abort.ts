// Upstream connections that are reset, not closed, when a request on them is
// aborted (its deadline passed). close() leaves whatever part of the request
// is still in the kernel's send queue to be retransmitted: on a link that is
// down, a write cut off by its deadline would reach the ERP seconds later,
// when the link is back — after a read-back had found it absent and the
// gateway had sent it again. A reset (SO_LINGER 0) drops the queue, so an
// abandoned attempt stays abandoned once the gateway has let go of it.
// On Node 24 (the target) and 26; Node 22's resetAndDestroy() still ends a
// connection with queued writes in order (checked on 22.23.5): there the
// read-back's refusal check (sync/replay.ts) is the only guard.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { buildConnector, errors } from 'undici';

/** undici destroys a request's socket with this error when the request is aborted. */
function isAbort(err: Error | undefined): boolean {
  return err instanceof errors.InformationalError && err.message === 'aborted';
}

function resetWhenAborted(socket: Socket): void {
  const destroy = socket.destroy.bind(socket);
  socket.destroy = (err?: Error) => {
    // resetAndDestroy() calls destroy() again, without an error: that call closes with a reset.
    if (isAbort(err) && !socket.destroyed) return socket.resetAndDestroy();
    return destroy(err);
  };
}

/**
 * undici's connector, its plain TCP sockets reset on abort. TLS sockets are
 * closed as before: Node can reset only a socket it holds the TCP handle of.
 */
export function resettingConnector(options: buildConnector.BuildOptions): buildConnector.connector {
  const connect = buildConnector(options);
  return (opts, callback) =>
    connect(opts, (err, socket) => {
      if (socket && !(socket instanceof TLSSocket)) resetWhenAborted(socket);
      (callback as (e: Error | null, s: Socket | null) => void)(err, socket);
    });
}
