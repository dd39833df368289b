// A WAN emulator for the demo: a TCP relay between a gateway's uplink and the
// ERP, so outages are real at the socket level without root or network
// namespaces. It can add latency, throttle, cut (packets vanish: connections
// hang, new ones never complete), or drop connections (reset).
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export type WanState = 'up' | 'cut' | 'drop';

export interface WanSettings {
  /** Added one way, to every chunk. */
  latencyMs: number;
  /** 0 for no limit. */
  bytesPerSec: number;
  state: WanState;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

export class WanRelay {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #settings: WanSettings = { latencyMs: 0, bytesPerSec: 0, state: 'up' };

  private constructor(
    private readonly target: { host: string; port: number },
    server: Server,
  ) {
    this.#server = server;
  }

  /** A relay on 127.0.0.1 (any free port) to `targetUrl`'s host and port. */
  static async start(targetUrl: string): Promise<WanRelay> {
    const url = new URL(targetUrl);
    const server = createServer();
    const relay = new WanRelay({ host: url.hostname, port: Number(url.port || 80) }, server);
    server.on('connection', (s) => relay.#accept(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get settings(): WanSettings {
    return { ...this.#settings };
  }

  set(s: Partial<WanSettings>): void {
    this.#settings = { ...this.#settings, ...s };
    // A drop resets what is open now; a cut leaves it hanging (see #pipe).
    if (this.#settings.state === 'drop') for (const p of this.#pairs) this.#close(p, true);
  }

  async close(): Promise<void> {
    for (const p of this.#pairs) this.#close(p, true);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const pair: Pair = { client, upstream: undefined };
    this.#pairs.add(pair);
    client.on('error', () => this.#close(pair, true));
    client.on('close', () => this.#close(pair, false));
    if (this.#settings.state === 'drop') return this.#close(pair, true);
    // On a cut line the client's connect lands in the relay and then nothing
    // moves (see #pipe), as a connection into a dead line would time out.
    const upstream = connect(this.target.port, this.target.host);
    pair.upstream = upstream;
    upstream.on('error', () => this.#close(pair, true));
    upstream.on('close', () => this.#close(pair, false));
    this.#pipe(client, upstream);
    this.#pipe(upstream, client);
  }

  /**
   * Copies `from` to `to` in order, each chunk held for the latency and the
   * throughput limit. While the line is cut nothing moves: the chunks wait, the
   * relay stops reading, and TCP's own flow control holds the sender, as on a
   * real dead line (data is delayed, never lost or reordered).
   */
  #pipe(from: Socket, to: Socket): void {
    const queue: { chunk: Buffer | null; at: number }[] = [];
    /** When the emulated line has finished sending what it was given so far. */
    let lineFreeAt = 0;
    let draining = false;
    const step = (): void => {
      const head = queue[0];
      if (!head) {
        draining = false;
        return;
      }
      const wait = this.#settings.state === 'up' ? head.at - Date.now() : 50;
      if (wait > 0) {
        setTimeout(step, wait).unref();
        return;
      }
      queue.shift();
      if (to.destroyed) return;
      if (head.chunk) to.write(head.chunk);
      else to.end();
      if (queue.length < 16 && from.isPaused()) from.resume();
      step();
    };
    const enqueue = (chunk: Buffer | null) => {
      const { latencyMs, bytesPerSec } = this.#settings;
      // Serialisation on the line, then propagation.
      lineFreeAt = Math.max(Date.now(), lineFreeAt) + (chunk && bytesPerSec > 0 ? (chunk.length * 1000) / bytesPerSec : 0);
      queue.push({ chunk, at: lineFreeAt + latencyMs });
      // Back-pressure: a slow or cut line must not buffer without bound in the relay.
      if (queue.length > 64) from.pause();
      if (!draining) {
        draining = true;
        step();
      }
    };
    from.on('data', (chunk: Buffer) => enqueue(chunk));
    from.on('end', () => enqueue(null));
  }

  #close(p: Pair, reset: boolean): void {
    if (!this.#pairs.delete(p)) return;
    for (const s of [p.client, p.upstream]) {
      if (!s) continue;
      if (reset) s.resetAndDestroy();
      else s.destroy();
    }
  }
}
