// Servers under test run as child processes, so that none of them shares an
// event loop with the load generator or with each other. Every child gets its
// own process group: stopping the group also stops what it forked (nginx
// workers), and every group still alive is killed when the bench exits, however
// it exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface Peer {
  name: string;
  url: string;
  /** The process started (its CPU time is the server's, with what it forks: proc.ts). */
  pid: number;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** The peer's URL from one line of its stdout, once it is listening. */
  readyLine?: (line: string) => string | undefined;
  /** For peers that print nothing (nginx): ready once this port accepts a connection; the URL is built from it. */
  readyPort?: number;
  timeoutMs?: number;
}

/** Every peer not yet stopped, with how to stop it. */
const running = new Map<ChildProcess, () => Promise<void>>();

/** The repository's root folder. This file is dist/test/bench/harness.js. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A compiled file of this project, by its path from the repository root (e.g. 'src/cli/main.js'). */
export function distFile(fromRoot: string): string {
  return fileURLToPath(new URL(`../../${fromRoot}`, import.meta.url));
}

/** Runs a compiled Node entry of this project as a peer. */
export function spawnNode(name: string, fromRoot: string, args: string[] = [], more: Partial<SpawnOptions> = {}): Promise<Peer> {
  return spawnPeer({ name, command: process.execPath, args: [distFile(fromRoot), ...args], readyLine: listeningLine, ...more });
}

/** Reads the `{"listening": url}` line the bench's own peers print. */
export function listeningLine(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(line) as { listening?: unknown };
    return typeof v.listening === 'string' ? v.listening : undefined;
  } catch {
    return undefined;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => resolve(true)).once('error', () => resolve(false));
    s.once('close', () => s.destroy());
    s.once('connect', () => s.end());
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export function spawnPeer(o: SpawnOptions): Promise<Peer> {
  const child = spawn(o.command, o.args, {
    cwd: o.cwd,
    env: { ...process.env, ...o.env },
    // stdin stays open: the bench's Node peers exit when it closes, which
    // covers the one case no handler here can, the bench being SIGKILLed.
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  // Output is kept (the tail, for error messages) and always drained, so a
  // chatty peer never blocks on a full pipe in the middle of a measurement.
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const stdout = createInterface({ input: child.stdout! });

  const stop = async () => {
    killGroup(child, 'SIGTERM');
    const late = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
    await exited;
    clearTimeout(late);
    // nginx workers may outlive their master by a moment.
    killGroup(child, 'SIGKILL');
    running.delete(child);
  };
  running.set(child, stop);

  return new Promise<Peer>((resolve, reject) => {
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${o.name}: ${why}\n${tail.join('\n')}`)));
    };
    const ready = (url: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ name: o.name, url, pid: child.pid!, stop });
    };
    const timer = setTimeout(() => fail(`not listening within ${o.timeoutMs ?? 15000} ms`), o.timeoutMs ?? 15000);
    child.once('error', (e) => fail(e.message));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before listening`));
    stdout.on('line', (line) => {
      keep(line);
      const url = o.readyLine?.(line);
      if (url !== undefined) ready(url);
    });
    if (o.readyPort !== undefined) {
      const port = o.readyPort;
      const poll = async () => {
        while (!done) {
          if (await canConnect(port)) return ready(`http://127.0.0.1:${port}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      void poll();
    }
  });
}

/** Folders of peers still running, removed on any exit too (Ctrl-C stops peers without their wrappers). */
const ownedDirs = new Set<string>();

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  ownedDirs.delete(dir);
}

/** A peer that owns a temporary folder: the folder goes when the peer stops, or fails to start. */
export async function peerOwningDir(dir: string, starting: Promise<Peer>): Promise<Peer> {
  ownedDirs.add(dir);
  const peer = await starting.catch((e: Error) => {
    removeDir(dir);
    throw e;
  });
  return {
    ...peer,
    async stop() {
      await peer.stop();
      removeDir(dir);
    },
  };
}

/** Stops every peer still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running.values()].map((stop) => stop()));
}

/** On Ctrl-C, SIGTERM, a crash or any exit: no peer is left behind. */
export function installCleanup(): void {
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    process.stderr.write(`\n${signal}: stopping peers\n`);
    void stopAll().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => onSignal('SIGINT', 130));
  process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  process.once('SIGHUP', () => onSignal('SIGHUP', 129));
  // 'exit' handlers cannot wait: the last resort is SIGKILL to what remains.
  process.on('exit', () => {
    for (const child of running.keys()) killGroup(child, 'SIGKILL');
    for (const dir of ownedDirs) removeDir(dir);
  });
}

/** For the bench's own Node peers: exit when the bench goes away (see spawnPeer). */
export function exitWithParent(close: () => Promise<void>): void {
  const quit = () => void close().finally(() => process.exit(0));
  process.stdin.on('end', quit).on('close', quit).resume();
  process.once('SIGTERM', quit);
  process.once('SIGINT', quit);
}
