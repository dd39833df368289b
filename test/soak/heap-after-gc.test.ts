import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/gateway-process.js';
import { heapAfterFullGc } from './heap-after-gc.js';

// Each child makes 24 MiB of arrays (48 × 512 KiB of doubles, in V8's large-object
// space, which only a major collection frees), then keeps them or drops them.
const child = (keep: boolean) => `
  let made = Array.from({ length: 48 }, () => new Array(65536).fill(1.5));
  globalThis.kept = ${keep} ? made : null;
  made = null;
  setInterval(() => {}, 1000);
  console.log('ready');`;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function start(keep: boolean): Promise<string> {
  const inspector = `127.0.0.1:${await freePort()}`;
  const c = spawn(process.execPath, [`--inspect=${inspector}`, '-e', child(keep)], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(c);
  await new Promise((resolve) => c.stdout!.once('data', resolve));
  return inspector;
}

describe('the heap after a full collection, over the inspector', () => {
  it('counts what a process keeps and not the garbage it dropped', async () => {
    const [kept, dropped] = await Promise.all([start(true), start(false)]);
    const [keptKiB, droppedKiB] = await Promise.all([heapAfterFullGc(kept), heapAfterFullGc(dropped)]);
    expect(keptKiB - droppedKiB).toBeGreaterThan(22 * 1024);
    expect(keptKiB - droppedKiB).toBeLessThan(26 * 1024);
  });

  it('says so when nothing listens', async () => {
    await expect(heapAfterFullGc(`127.0.0.1:${await freePort()}`, 2000)).rejects.toThrow(/ECONNREFUSED/);
  });
});
