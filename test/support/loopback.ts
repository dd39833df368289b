// What a test of real loopback sockets opened, closed after each of its tests.
import type { Server, Socket } from 'node:net';
import { afterEach } from 'vitest';

export interface Opened {
  server: Server | undefined;
  sockets: Socket[];
}

/** Call at a test file's top level: its server and sockets, closed after each test. */
export function closedAfterEach(): Opened {
  const opened: Opened = { server: undefined, sockets: [] };
  afterEach(async () => {
    for (const s of opened.sockets.splice(0)) s.destroy();
    await new Promise((r) => opened.server?.close(r) ?? r(undefined));
    opened.server = undefined;
  });
  return opened;
}
