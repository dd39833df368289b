// The JS heap in use right after a full garbage collection, read over the
// inspector of a process started with --inspect=HOST:PORT (the soak starts
// its gateway so; the product never is). This is the one heap reading that does
// not depend on when V8 last collected: sampled from metrics, the heap in use
// carries whatever garbage the old generation holds until its next major
// collection, which after a replay burst is tens of MiB (a soak failed on
// that alone). What survives this collection is live — a leak stays.
import { once } from 'node:events';
import { request } from 'undici';
import WebSocket from 'ws';

interface CdpAnswer {
  id: number;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/** Heap in use in KiB after HeapProfiler.collectGarbage (V8's low-memory notification: full, compacting collections). */
export async function heapAfterFullGc(inspector: string, timeoutMs = 15_000): Promise<number> {
  const res = await request(`http://${inspector}/json/list`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const targets = (await res.body.json()) as { webSocketDebuggerUrl?: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target at ${inspector}`);
  const ws = new WebSocket(url, { handshakeTimeout: timeoutMs });
  const waiting = new Map<number, (a: CdpAnswer) => void>();
  ws.on('message', (data) => {
    const a = JSON.parse(String(data)) as CdpAnswer;
    waiting.get(a.id)?.(a);
  });
  let next = 0;
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => reject(new Error(`${method}: no answer within ${timeoutMs} ms`)), timeoutMs);
      waiting.set(id, (a) => {
        clearTimeout(timer);
        if (a.error) reject(new Error(`${method}: ${a.error.message}`));
        else resolve(a.result ?? {});
      });
      ws.send(JSON.stringify({ id, method }));
    });
  try {
    await once(ws, 'open');
    await call('HeapProfiler.collectGarbage');
    const { usedSize } = await call('Runtime.getHeapUsage');
    if (typeof usedSize !== 'number') throw new Error('Runtime.getHeapUsage gave no usedSize');
    return usedSize / 1024;
  } finally {
    ws.close();
  }
}
