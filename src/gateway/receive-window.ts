// The TCP receive window of one upstream connection, set by the gateway. A
// bulk answer the gateway holds back (bytes.ts) stops crossing the link only
// once the connection's window is full, and by default that window is tens of
// KiB and grows as fast as the gateway reads: a whole answer fits in it, so
// holding its reading held nothing back on the link. Node has no API for it;
// sockopt calls setsockopt(2) on the socket's descriptor. Linux only (the
// gateway's platform); elsewhere the window stays the kernel's.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { getsockopt, setsockopt } from 'sockopt';

/** Linux's numbers for the options set here (sockopt takes them as given). */
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const IPPROTO_TCP = 6;
export const TCP_MAXSEG = 2;
export const TCP_WINDOW_CLAMP = 10;
/** Where Linux says whether it may shrink an announced window; deploy/sysctl/90-storegw.conf sets it. */
export const SHRINK_WINDOW_SYSCTL = '/proc/sys/net/ipv4/tcp_shrink_window';
/** The most a TCP receive buffer may grow to (its third field), and any socket's: the window scale is chosen from the larger. */
export const TCP_RMEM_SYSCTL = '/proc/sys/net/ipv4/tcp_rmem';
export const RMEM_MAX_SYSCTL = '/proc/sys/net/core/rmem_max';
/** The window step of Linux's default tcp_rmem (6 MiB): deploy/sysctl/90-storegw.conf sets that. */
export const DEFAULT_WINDOW_STEP = 128;
/** When the files cannot be read: the step of a host that raised tcp_rmem to 32 MiB, on which the budget was first measured. */
const UNKNOWN_WINDOW_STEP = 1024;
/** The timestamp option: the MSS read from a socket leaves its 12 bytes out, and a far end that sends no timestamps fills them with data. */
const TIMESTAMP_OPTION_BYTES = 12;
/** A TCP segment's payload through a WireGuard tunnel at wg-quick's MTU of 1420, timestamps on: for the warning's figure. */
const TUNNEL_MSS = 1368;
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
 * The step in which this host's connections announce their receive windows:
 * 2^wscale, the window scale Linux chooses at connect from the most a receive
 * buffer may grow to (tcp_select_initial_window), before the gateway can set
 * anything. A window set here is announced rounded to it: 1 KiB steps with a
 * tcp_rmem of 32 MiB (some tuned hosts, and the machine the lab first ran
 * on), 128 bytes with Linux's default 6 MiB.
 */
export function windowStep(read: (file: string) => string = (f) => readFileSync(f, 'utf8')): number {
  try {
    const most = Math.max(Number(read(TCP_RMEM_SYSCTL).trim().split(/\s+/)[2]), Number(read(RMEM_MAX_SYSCTL).trim()));
    if (!(most > 0)) return UNKNOWN_WINDOW_STEP;
    return 2 ** Math.min(14, Math.max(0, Math.floor(Math.log2(most)) - 15));
  } catch {
    return UNKNOWN_WINDOW_STEP;
  }
}

/**
 * The least receive window that admits one full segment from the far end:
 * its MSS as announced, rounded up to the step windows are announced in.
 * Under it the kernel announces no window at all (a bulk download stalled at
 * 5 % of a 512 kbit/s link in the lab); at it, a bulk connection keeps one
 * segment in the link's queue, which is as little as TCP can.
 */
export function leastWindow(mss: number, step: number): number {
  return Math.ceil((mss + TIMESTAMP_OPTION_BYTES) / step) * step;
}

/** The connection's MSS (TCP_MAXSEG), or undefined when it cannot be read (not Linux, the socket closed). */
export function segmentSize(socket: Socket): number | undefined {
  if (process.platform !== 'linux' || socket.destroyed) return undefined;
  try {
    return getsockopt(socket, IPPROTO_TCP, TCP_MAXSEG);
  } catch {
    return undefined;
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

/** What a path with a byte budget loses to this host's settings: the warnings to log at start (deploy/sysctl/90-storegw.conf mends both). */
export function budgetWarnings(host: { shrinks: boolean; step: number }): string[] {
  const warnings: string[] = [];
  if (!host.shrinks)
    warnings.push(
      "byte budget: the kernel keeps the receive window a connection announced (net.ipv4.tcp_shrink_window is not 1), so each new bulk connection's first answer may still fill the link's queue (about 14 KiB); deploy/sysctl/90-storegw.conf sets it",
    );
  if (host.step > DEFAULT_WINDOW_STEP)
    warnings.push(
      `byte budget: receive windows are announced in steps of ${host.step} bytes (net.ipv4.tcp_rmem's max, or net.core.rmem_max, is above Linux's default 6 MiB), so a bulk connection's least window through a WireGuard tunnel is ${leastWindow(TUNNEL_MSS, host.step)} bytes, and on a thin link it keeps a second packet in the link's queue; deploy/sysctl/90-storegw.conf sets tcp_rmem's default (lower rmem_max too if it is above 6 MiB)`,
    );
  return warnings;
}
