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
  let reply: WorkerReply;
  try {
    const method = store[msg.op] as (...args: unknown[]) => unknown;
    reply = { id: msg.id, ok: true, result: method.apply(store, fromWire(msg.args) as unknown[]) };
  } catch (e) {
    reply = { id: msg.id, ok: false, error: (e as Error).message };
  }
  port.postMessage(reply);
  if (msg.op === 'close') port.close();
});
