// The TCP receive window of one upstream connection, set by the gateway. A
// bulk answer the gateway holds back (bytes.ts) stops crossing the link only
// once the connection's window is full, and by default that window is tens of
// KiB and grows as fast as the gateway reads: a whole answer fits in it, so
// holding its reading held nothing back on the link. Node has no API for it;
// sockopt calls setsockopt(2) on the socket's descriptor. Linux only (the
// gateway's platform); elsewhere the window stays the kernel's.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { setsockopt } from 'sockopt';

/** Linux's numbers for the options set here (sockopt takes them as given). */
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const IPPROTO_TCP = 6;
export const TCP_WINDOW_CLAMP = 10;
/** Where Linux says whether it may shrink an announced window; deploy/sysctl/90-storegw.conf sets it. */
export const SHRINK_WINDOW_SYSCTL = '/proc/sys/net/ipv4/tcp_shrink_window';
/**
 * Receive buffer per byte of window. The buffer also counts each packet's
 * kernel overhead: one of just the window's size fills first, and with
 * net.ipv4.tcp_shrink_window the window then closes (a bulk download at
 * 5 % of a 512 kbit/s link in the lab, stalled on zero windows). Much more,
 * and a new connection's first window fits the buffer, so the kernel has no
 * reason to shrink it (checkout p99 150 ms there with 2, 250 ms with 4).
 */
export const BUFFER_PER_WINDOW = 2;

/**
 * Caps what the far end may have in flight towards this socket at `bytes`.
 * False when it could not be set (not Linux, the socket already closed): the
 * answer then only loses its priority in bytes, so nothing is thrown.
 */
export function setReceiveWindow(socket: Socket, bytes: number): boolean {
  if (process.platform !== 'linux' || socket.destroyed) return false;
  try {
    // SO_RCVBUF first: setting it turns the kernel's autotuning of this
    // socket's buffer off, which would otherwise lift the clamp again as soon
    // as the gateway reads quickly (tcp_rcv_space_adjust).
    setsockopt(socket, SOL_SOCKET, SO_RCVBUF, BUFFER_PER_WINDOW * bytes);
    setsockopt(socket, IPPROTO_TCP, TCP_WINDOW_CLAMP, bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the kernel takes a window it announced back down to the one set
 * here (net.ipv4.tcp_shrink_window, Linux 6.5+, deploy/sysctl/90-storegw.conf).
 * Without it, a connection's first answer still comes at the window its
 * connect announced, before any could be set: ten segments, about 14 KiB.
 */
export function kernelShrinksWindows(read: () => string = () => readFileSync(SHRINK_WINDOW_SYSCTL, 'utf8')): boolean {
  try {
    return read().trim() === '1';
  } catch {
    return false;
  }
}
