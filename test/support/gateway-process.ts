// A real `storegw gateway` child process, as the fault matrix and the soak run
// it: started from a config file (optionally inside a lab namespace, or with
// node flags such as a clock-shifting --import), its log kept (the last lines
// only, so a long soak does not grow the test's memory), its RSS readable from
// /proc, and killable with any signal.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { GATEWAY_NODE_FLAGS } from '../../src/cli/node-flags.js';

// Run by vitest from test/support/, or compiled to dist/test/support/ for the soak.
export const CLI = fileURLToPath(new URL(import.meta.url.includes('/dist/test/') ? '../../src/cli/main.js' : '../../dist/src/cli/main.js', import.meta.url));

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/** The built `storegw ARGS` as a process: its exit code and what it wrote. */
export function runStoregw(args: readonly string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { ...(o.env && { env: o.env }), stdio: ['ignore', 'pipe', 'pipe'], timeout: o.timeoutMs ?? 30_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

export type Spawner = (cmd: string, args: string[], opts: SpawnOptions) => ChildProcess;

// A gateway under test, here, in the lab or a bench, runs with the node flags it is
// deployed with, and the soak's RSS budget holds for that.
export { GATEWAY_NODE_FLAGS };

export interface GatewayProcessOptions {
  config: string;
  cwd?: string;
  /** Default: child_process.spawn in this namespace; a lab passes its own (lab.spawn('store', …)). */
  spawner?: Spawner;
  /** node flags before the CLI, e.g. ['--import', 'file:///…/clock-shift.js']. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** Lines of log kept (default 20,000). */
  keepLines?: number;
  startTimeoutMs?: number;
}

export interface QueueStatus {
  pending: number;
  dead: number;
  /** Writes whose outcome at the ERP is not known yet: a read-back or an operator settles them. */
  unknown: number;
  delivered: number;
  bytes: number;
  maxBytes: number;
  oldestAgeS: number;
}

/** Reads a free TCP port on 127.0.0.1 (closed again at once), for a gateway that must keep its address across restarts. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** VmRSS of a process in KiB, from /proc/<pid>/status; undefined when it is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export class GatewayProcess {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly adminUrl: string;
  readonly startedAt: number;
  readonly #lines: string[];

  private constructor(proc: ChildProcess, url: string, adminUrl: string, lines: string[]) {
    this.proc = proc;
    this.url = url;
    this.adminUrl = adminUrl;
    this.#lines = lines;
    this.startedAt = Date.now();
  }

  static async start(o: GatewayProcessOptions): Promise<GatewayProcess> {
    const spawner: Spawner = o.spawner ?? ((cmd, args, opts) => spawn(cmd, args, opts));
    const proc = spawner(process.execPath, [...GATEWAY_NODE_FLAGS, ...(o.nodeArgs ?? []), CLI, 'gateway', '--config', o.config], {
      cwd: o.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info', ...o.env },
    });
    const keep = o.keepLines ?? 20_000;
    const lines: string[] = [];
    let partial = '';
    const take = (c: Buffer) => {
      const parts = (partial + c.toString()).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
      if (lines.length > keep * 1.5) lines.splice(0, lines.length - keep);
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
    const started = await new Promise<{ lan: string; admin: string }>((resolve, reject) => {
      let seen = 0;
      const poll = setInterval(() => {
        for (; seen < lines.length; seen++) {
          const l = lines[seen]!;
          if (!l.includes('"gateway started"')) continue;
          finish();
          resolve(JSON.parse(l) as { lan: string; admin: string });
          return;
        }
      }, 10);
      const timer = setTimeout(() => (finish(), reject(new Error(`gateway did not start within ${o.startTimeoutMs ?? 20_000} ms:\n${lines.slice(-50).join('\n')}`))), o.startTimeoutMs ?? 20_000);
      const onExit = (code: number | null, signal: string | null) => (finish(), reject(new Error(`gateway exited at start (${code ?? signal}):\n${[...lines, partial].slice(-50).join('\n')}`)));
      const finish = () => {
        clearInterval(poll);
        clearTimeout(timer);
        proc.off('exit', onExit);
      };
      proc.once('exit', onExit);
    });
    return new GatewayProcess(proc, started.lan, started.admin, lines);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  logs(): string {
    return this.#lines.join('\n');
  }

  rssKiB(): number | undefined {
    return this.alive ? rssKiB(this.pid) : undefined;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(sig);
  }

  async exited(timeoutMs = 20_000): Promise<void> {
    if (!this.alive) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway ${this.pid} still running after ${timeoutMs} ms`)), timeoutMs);
      this.proc.once('exit', () => (clearTimeout(timer), resolve()));
    });
  }

  async kill9(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited();
  }

  /** SIGTERM, then SIGKILL if it has not exited within timeoutMs. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (!this.alive) return;
    this.signal('SIGTERM');
    try {
      await this.exited(timeoutMs);
    } catch {
      await this.kill9();
    }
  }

  async status(): Promise<{ configVersion: string; queue: QueueStatus; replay: { paused: boolean; ratePerSec: number; inflight: number }; paths: { name: string; state: string }[] }> {
    const res = await request(`${this.adminUrl}/v1/status`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    if (res.statusCode !== 200) throw new Error(`/v1/status answered ${res.statusCode}: ${await res.body.text()}`);
    return (await res.body.json()) as never;
  }

  /** The first few dead letters' routes and reasons, for a failure message. */
  async #deadSample(): Promise<string> {
    try {
      const res = await request(`${this.adminUrl}/v1/queue?state=dead&limit=5`);
      const { entries } = (await res.body.json()) as { entries: { route: string; attempts: number; lastError: string | null }[] };
      return entries.map((e) => `${e.route} after ${e.attempts}: ${e.lastError}`).join('; ');
    } catch (e) {
      return `(could not list them: ${(e as Error).message})`;
    }
  }

  /** Until the journal holds nothing pending (and, unless allowDead, no dead letter); throws with the queue's state after timeoutMs. */
  async drained(timeoutMs = 60_000, allowDead = false): Promise<QueueStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: QueueStatus | undefined;
    for (;;) {
      try {
        last = (await this.status()).queue;
        if (last.pending === 0 && last.unknown === 0 && (allowDead || last.dead === 0)) return last;
        if (!allowDead && last.dead > 0) throw new Error(`dead letters in the journal: ${JSON.stringify(last)}; the first: ${await this.#deadSample()}`);
      } catch (e) {
        if ((e as Error).message.startsWith('dead letters')) throw e;
      }
      if (Date.now() > deadline) throw new Error(`journal not drained after ${timeoutMs} ms: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
