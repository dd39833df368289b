import { describe, expect, it } from 'vitest';
import type { PosVerdict, ScannerVerdict } from './pos/verdict.js';
import { progressBar, story, tillCounters, verdictLines, verdictOk, type StoryWorld } from './story.js';

describe('demo story', () => {
  it('cuts the first store\'s fiber, then takes the second offline, then restores all', () => {
    const log: string[] = [];
    const world: StoryWorld = { cut: (s, p) => log.push(`cut ${s}/${p}`), restoreAll: () => log.push('restore') };
    const steps = story(['store-01', 'store-02', 'store-03']);
    expect(steps.map((s) => s.name)).toEqual(['all-well', 'fiber-cut', 'store-offline', 'restored']);
    for (const s of steps) s.apply(world);
    expect(log).toEqual(['restore', 'cut store-01/fiber', 'restore', 'cut store-02/fiber', 'restore']);
    expect(steps[3]!.drain).toBe('store-02');
  });

  it('needs two stores', () => {
    expect(() => story(['only'])).toThrow(/two stores/);
  });

  it('draws a progress bar', () => {
    expect(progressBar(5, 10, 10)).toBe('[#####.....] 5/10');
    expect(progressBar(0, 0, 4)).toBe('[####] 0/0');
  });

  const pos: PosVerdict = { paid: 12, atErp: 12, lost: 0, duplicated: 0, reverted: 0, pending: 0 };
  const scanner: ScannerVerdict = { saves: 3, linesSent: 6, linesAtErp: 6, duplicatedLines: 0, lost: 0 };

  it('tells the verdict in the closing lines', () => {
    expect(verdictLines(pos, scanner, 1)).toEqual([
      'orders: 12 paid at the tills, 12 at the ERP, 0 lost, 0 duplicated, 0 reverted to unpaid',
      'scanner: 6 lines sent, 6 at the ERP, 0 duplicated, 1 unknown held for an operator',
    ]);
    expect(verdictLines({ ...pos, atErp: 10, pending: 2 }, scanner, 0)[0]).toBe(
      'orders: 12 paid at the tills, 10 at the ERP, 0 lost, 0 duplicated, 0 reverted to unpaid, 2 still held at the tills',
    );
    expect(tillCounters({ ...pos, atErp: 11, pending: 1 })).toBe('paid 12, at the ERP 11, held at the tills 1, reverted 0');
  });

  it('fails the run on a lost, duplicated, reverted or still held order, or a line saved twice', () => {
    expect(verdictOk(pos, scanner)).toBe(true);
    for (const bad of [{ lost: 1 }, { duplicated: 1 }, { reverted: 1 }, { pending: 1 }]) expect(verdictOk({ ...pos, ...bad }, scanner)).toBe(false);
    expect(verdictOk(pos, { ...scanner, duplicatedLines: 1 })).toBe(false);
  });
});
