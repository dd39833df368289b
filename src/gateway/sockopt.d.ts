// sockopt ships no types: the two calls storegw makes.
declare module 'sockopt' {
  import type { Socket } from 'node:net';
  /** setsockopt(2) on the socket's descriptor; integer options only. Throws when the call fails or the socket has no descriptor. */
  export function setsockopt(socket: Socket, level: number, option: number, value: number): void;
  export function getsockopt(socket: Socket, level: number, option: number): number;
}
