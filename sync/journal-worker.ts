// Hosts the JournalStore on a worker thread: SQLite commits (and their fsyncs)
// happen here, off the event loop that proxies live traffic.
import { parentPort, workerData } from 'node:worker_threads';
import { JournalStore } from './journal-store.js';
import { fromWire, type WorkerReply, type WorkerRequest } from './journal-wire.js';

const { file, maxBytes } = workerData as { file: string; maxBytes: number };
const port = parentPort!;

let store: JournalStore;
try {
  store = JournalStore.open(file, maxBytes);
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ ready: false, error: (e as Error).message, name: (e as Error).name });
  process.exit(0);
}

port.on('message', (msg: WorkerRequest) => {
  const answer = (reply: WorkerReply) => {
    port.postMessage(reply);
    if (msg.op === 'close') port.close();
  };
  const fail = (e: unknown) => answer({ id: msg.id, ok: false, error: (e as Error).message });
  try {
    const method = store[msg.op] as (...args: unknown[]) => unknown;
    const result = method.apply(store, fromWire(msg.args) as unknown[]);
    // A backup runs in steps: other calls are answered between them, and it answers when done.
    if (result instanceof Promise) result.then((r: unknown) => answer({ id: msg.id, ok: true, result: r }), fail);
    else answer({ id: msg.id, ok: true, result });
  } catch (e) {
    fail(e);
  }
});
