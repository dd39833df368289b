import { afterEach, describe, expect, it } from 'vitest';
import { DrainWatch } from './drain-watch.js';

describe('drain watch', () => {
  let watch: DrainWatch | undefined;
  afterEach(() => watch?.stop());

  function make(backlog: number[]) {
    let now = 0;
    const reports: number[] = [];
    watch = new DrainWatch({ pending: async () => backlog.shift() ?? 0, report: () => void reports.push(now), now: () => now });
    return { watch, reports, at: (t: number) => (now = t) };
  }

  it('reports once when the backlog empties while a grant runs', async () => {
    const { watch, reports, at } = make([5, 2, 0, 0]);
    watch.granted(30_000);
    for (const t of [1000, 2000, 3000, 4000]) {
      at(t);
      await watch.check();
    }
    expect(reports).toEqual([3000]);
  });

  it('reports nothing for a gateway that had no backlog', async () => {
    const { watch, reports } = make([0, 0]);
    watch.granted(30_000);
    await watch.check();
    await watch.check();
    expect(reports).toEqual([]);
  });

  it('stops looking when the grant lapses', async () => {
    const { watch, reports, at } = make([5, 0]);
    watch.granted(1000);
    await watch.check();
    at(1000);
    await watch.check();
    expect(reports).toEqual([]);
  });

  it('looks again after a journal that could not say', async () => {
    let calls = 0;
    const reports: string[] = [];
    watch = new DrainWatch({
      pending: async () => {
        calls++;
        if (calls === 2) throw new Error('journal worker exited');
        return calls === 1 ? 3 : 0;
      },
      report: () => void reports.push('sent'),
    });
    watch.granted(30_000);
    await watch.check();
    await watch.check();
    await watch.check();
    expect(reports).toEqual(['sent']);
  });
});
