import { describe, expect, it } from 'vitest';
import { progressBar, story, type StoryWorld } from './story.js';

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
});
