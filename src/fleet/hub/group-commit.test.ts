import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

/** A write the test ends by hand: what each call got, and how to finish it. */
function writes() {
  const calls: { items: number[]; finish(e?: Error): void }[] = [];
  const write = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ items, finish: (e) => (e ? reject(e) : resolve()) });
    });
  return { calls, write };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('group commit', () => {
  it('writes a lone item at once, and what comes in while a write is under way together after it', async () => {
    const { calls, write } = writes();
    const g = new GroupCommit(write, 100);
    const first = g.add(1);
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    const rest = [2, 3, 4].map((n) => g.add(n));
    expect(calls).toHaveLength(1);
    calls[0]!.finish();
    await first;
    await turn();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4]]);
    calls[1]!.finish();
    await Promise.all(rest);
  });

  it('holds each caller until its own item is written', async () => {
    const { calls, write } = writes();
    const g = new GroupCommit(write, 100);
    let secondDone = false;
    void g.add(1);
    void g.add(2).then(() => (secondDone = true));
    calls[0]!.finish();
    await turn();
    expect(secondDone).toBe(false);
    calls[1]!.finish();
    await turn();
    expect(secondDone).toBe(true);
  });

  it('tells every caller of a failed write, and goes on with the next', async () => {
    const { calls, write } = writes();
    const g = new GroupCommit(write, 100);
    const first = g.add(1);
    const failed = [g.add(2), g.add(3)].map((p) => p.catch((e: Error) => e.message));
    calls[0]!.finish();
    await first;
    await turn();
    calls[1]!.finish(new Error('disk full'));
    expect(await Promise.all(failed)).toEqual(['disk full', 'disk full']);
    const later = g.add(4);
    expect(calls[2]!.items).toEqual([4]);
    calls[2]!.finish();
    await later;
  });

  it('a write that throws instead of rejecting fails its callers, not the one who added', async () => {
    const g = new GroupCommit<number>(() => {
      throw new Error('no connection');
    }, 100);
    await expect(g.add(1)).rejects.toThrow('no connection');
  });

  it('writes at most maxItems at a time, in the order added', async () => {
    const { calls, write } = writes();
    const g = new GroupCommit(write, 2);
    const all = [1, 2, 3, 4, 5, 6].map((n) => g.add(n));
    for (let i = 0; i < 4; i++) {
      calls[i]!.finish();
      await turn();
    }
    await Promise.all(all);
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3], [4, 5], [6]]);
  });

  it('flush hands what waits to a write now, so that a write asked for next comes after it', async () => {
    const { calls, write } = writes();
    const g = new GroupCommit(write, 100);
    void g.add(1);
    void g.add(2);
    g.flush();
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
    g.flush();
    expect(calls).toHaveLength(2);
    for (const c of calls) c.finish();
  });

  it('settle resolves once everything added is written, failed or not', async () => {
    const { calls, write } = writes();
    const g = new GroupCommit(write, 100);
    void g.add(1);
    void g.add(2).catch(() => undefined);
    let settled = false;
    const s = g.settle().then(() => (settled = true));
    calls[0]!.finish();
    await turn();
    expect(settled).toBe(false);
    calls[1]!.finish(new Error('lost'));
    await s;
    expect(settled).toBe(true);
  });
});
