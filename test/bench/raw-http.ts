// A minimal keep-alive HTTP/1.1 client for the paced load generator. It sends
// one prebuilt request over and over and reads back only the status and the
// body's length (content-length or chunked). A general client (undici) spends
// more CPU per answer than the proxies under test on a 64 KB body, and the
// load generator shares the machine's cores with them.
import { connect, type Socket } from 'node:net';
import type { RequestSpec } from './load.js';

export interface RawAnswer {
  status: number;
  bytes: number;
}

type Waiter = { resolve: (a: RawAnswer) => void; reject: (e: Error) => void };

const HEAD_END = Buffer.from('\r\n\r\n');

export function requestBytes(url: URL, spec: RequestSpec): Buffer {
  const body = Buffer.from(spec.body ?? '');
  const lines = [`${spec.method} ${spec.path} HTTP/1.1`, `host: ${url.host}`];
  for (const [k, v] of Object.entries(spec.headers ?? {})) lines.push(`${k}: ${v}`);
  if (spec.method !== 'GET' || body.length > 0) lines.push(`content-length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

class Connection {
  readonly socket: Socket;
  closed = false;
  private waiter: Waiter | undefined;
  private head: Buffer = Buffer.alloc(0);
  private inHead = true;
  private status = 0;
  private bytes = 0;
  /** Content-length mode: body bytes still to come. */
  private left = 0;
  private chunked = false;
  private chunkState: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
  private line = '';

  constructor(url: URL) {
    this.socket = connect(Number(url.port), url.hostname);
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', () => this.socket.destroy());
    this.socket.on('close', () => {
      this.closed = true;
      this.waiter?.reject(new Error('connection closed'));
      this.waiter = undefined;
    });
  }

  send(request: Buffer, waiter: Waiter): void {
    this.waiter = waiter;
    this.head = Buffer.alloc(0);
    this.inHead = true;
    this.bytes = 0;
    this.socket.write(request);
  }

  private finish(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve({ status: this.status, bytes: this.bytes });
  }

  private onData(d: Buffer): void {
    if (!this.waiter) return void this.socket.destroy();
    if (this.inHead) {
      this.head = this.head.length ? Buffer.concat([this.head, d]) : d;
      const end = this.head.indexOf(HEAD_END);
      if (end < 0) return;
      const text = this.head.toString('latin1', 0, end);
      this.status = Number(text.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text);
      this.chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(text);
      this.left = length ? Number(length[1]) : 0;
      this.chunkState = 'size';
      this.line = '';
      this.inHead = false;
      d = this.head.subarray(end + HEAD_END.length);
    }
    if (!this.chunked) {
      this.bytes += d.length;
      this.left -= d.length;
      if (this.left <= 0) this.finish();
      return;
    }
    this.onChunked(d);
  }

  private onChunked(d: Buffer): void {
    let i = 0;
    while (i < d.length && this.waiter) {
      if (this.chunkState === 'data') {
        const n = Math.min(this.left, d.length - i);
        this.bytes += n;
        this.left -= n;
        i += n;
        if (this.left === 0) {
          this.chunkState = 'crlf';
          this.left = 2;
        }
      } else if (this.chunkState === 'crlf') {
        const n = Math.min(this.left, d.length - i);
        i += n;
        this.left -= n;
        if (this.left === 0) this.chunkState = 'size';
      } else {
        const nl = d.indexOf(10, i);
        this.line += d.toString('latin1', i, nl < 0 ? d.length : nl);
        if (nl < 0) return;
        i = nl + 1;
        const line = this.line.trim();
        this.line = '';
        if (this.chunkState === 'size') {
          this.left = parseInt(line, 16);
          this.chunkState = this.left > 0 ? 'data' : 'trailer';
        } else if (line === '') {
          this.finish();
        }
      }
    }
  }
}

/** Up to `max` connections; a request waits for a free one when all are busy. */
export class RawHttpPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly queue: Waiter[] = [];
  private readonly url: URL;
  private readonly request: Buffer;

  constructor(base: string, spec: RequestSpec, private readonly max: number) {
    this.url = new URL(base);
    this.request = requestBytes(this.url, spec);
  }

  send(): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      let c = this.idle.pop();
      while (c?.closed) c = this.idle.pop();
      if (!c && this.all.size < this.max) {
        c = new Connection(this.url);
        this.all.add(c);
        const added = c;
        c.socket.once('close', () => this.all.delete(added));
      }
      if (c) this.dispatch(c, waiter);
      else this.queue.push(waiter);
    });
  }

  private dispatch(c: Connection, w: Waiter): void {
    const release = () => {
      const next = this.queue.shift();
      if (!next) return void (c.closed || this.idle.push(c));
      if (c.closed) {
        this.all.delete(c);
        return void this.send().then(next.resolve, next.reject);
      }
      this.dispatch(c, next);
    };
    c.send(this.request, {
      resolve: (a) => {
        w.resolve(a);
        release();
      },
      reject: (e) => {
        w.reject(e);
        release();
      },
    });
  }

  close(): void {
    for (const c of this.all) c.socket.destroy();
  }
}
