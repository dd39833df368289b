import { describe, expect, it } from 'vitest';
import { heapFromMetrics, memoryVerdict, RSS_BUDGET_MIB, type MemorySample } from './memory.js';

/** 2 minutes of readings, 2 s apart, in one life: heap in use `used(i)` MiB, RSS `rss(i)` MiB. */
function run(used: (i: number) => number, rss: (i: number) => number = () => 200): MemorySample[] {
  return Array.from({ length: 60 }, (_, i) => ({ t: 2 * i, life: 1, rssKiB: rss(i) * 1024, heapUsedKiB: used(i) * 1024, heapTotalKiB: 2 * used(i) * 1024 }));
}
const sawtooth = (base: number) => (i: number) => base + (i % 5) * 8;

describe('the soak memory verdict', () => {
  it('passes a steady sawtooth even when RSS steps up once (V8 growing its heap for a burst)', () => {
    const v = memoryVerdict(run(sawtooth(35), (i) => (i < 40 ? 170 : 290)));
    expect(v).toMatchObject({ ok: true, firstThirdFloorMiB: 35, lastThirdFloorMiB: 35, rssPeakMiB: 290 });
  });

  it('fails a heap whose floor keeps rising (15 MiB/min)', () => {
    const v = memoryVerdict(run((i) => sawtooth(35)(i) + i * 0.5));
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/JS heap in use grew from a floor of 35 MiB/);
  });

  it('fails an RSS over the budget, whatever the heap does', () => {
    const v = memoryVerdict(run(sawtooth(35), () => RSS_BUDGET_MIB + 1));
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/over the 384 MiB budget/);
  });

  it('judges the longest life only, and refuses to judge without heap readings', () => {
    const killed = run((i) => 10 + i * 10).slice(0, 5).map((s) => ({ ...s, life: 0 }));
    expect(memoryVerdict([...killed, ...run(sawtooth(35))]).ok).toBe(true);
    const v = memoryVerdict(run(sawtooth(35)).map(({ heapUsedKiB: _u, heapTotalKiB: _t, ...s }) => s));
    expect(v).toMatchObject({ ok: false, reason: expect.stringMatching(/too few readings/) });
  });

  it('reads the heap from prom-client metrics with the gateway prefix', () => {
    const text = '# HELP x\nstoregw_nodejs_heap_size_total_bytes 104857600\nstoregw_nodejs_heap_size_used_bytes 41943040\nstoregw_nodejs_heap_size_used_bytes_other 1\n';
    expect(heapFromMetrics(text)).toEqual({ heapUsedKiB: 40 * 1024, heapTotalKiB: 100 * 1024 });
    expect(heapFromMetrics('nothing here')).toBeUndefined();
  });
});
