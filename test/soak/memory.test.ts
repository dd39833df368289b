import { describe, expect, it } from 'vitest';
import { heapFromMetrics, memoryVerdict, RSS_BUDGET_MIB, type MemorySample } from './memory.js';

/** 2 minutes of readings, 2 s apart, in life `life`: RSS `rss(i)` MiB, a sawtooth heap. */
function run(rss: (i: number) => number = () => 200, life = 1): MemorySample[] {
  return Array.from({ length: 60 }, (_, i) => ({ t: 2 * i, life, rssKiB: rss(i) * 1024, heapUsedKiB: (35 + (i % 5) * 8) * 1024, heapTotalKiB: 120 * 1024 }));
}
const MiB = 1024;

describe('the soak memory verdict', () => {
  it('passes a collected heap that ends where it started, even when RSS steps up once (V8 growing its heap for a burst)', () => {
    const v = memoryVerdict(run((i) => (i < 40 ? 170 : 290)), { startKiB: 30 * MiB, endKiB: 33 * MiB });
    expect(v).toMatchObject({ ok: true, startMiB: 30, endMiB: 33, limitMiB: 44, rssPeakMiB: 290, seconds: 118 });
  });

  it('fails a collected heap that grew past the limit', () => {
    const v = memoryVerdict(run(), { startKiB: 30 * MiB, endKiB: 45 * MiB });
    expect(v.ok).toBe(false);
    expect(v.reason).toBe('the JS heap in use after a full collection grew from 30 MiB to 45 MiB (limit 44 MiB)');
  });

  it('fails an RSS over the budget, whatever the heap does', () => {
    const v = memoryVerdict(run(() => RSS_BUDGET_MIB + 1), { startKiB: 30 * MiB, endKiB: 30 * MiB });
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/over the 384 MiB budget/);
  });

  it("judges the last life's RSS only", () => {
    const killed = run(() => RSS_BUDGET_MIB + 50, 0).slice(0, 5);
    expect(memoryVerdict([...killed, ...run()], { startKiB: 30 * MiB, endKiB: 30 * MiB })).toMatchObject({ ok: true, life: 1, rssPeakMiB: 200 });
  });

  it('refuses to judge without both collected readings, saying why', () => {
    expect(memoryVerdict(run(), { startKiB: 'connect ECONNREFUSED', endKiB: 30 * MiB })).toMatchObject({ ok: false, reason: expect.stringMatching(/could not be read at the start of life 1: connect ECONNREFUSED/) });
    expect(memoryVerdict(run(), { startKiB: 30 * MiB, endKiB: 'not taken' })).toMatchObject({ ok: false, reason: expect.stringMatching(/after the drain: not taken/) });
  });

  it('reads the heap from prom-client metrics with the gateway prefix', () => {
    const text = '# HELP x\nstoregw_nodejs_heap_size_total_bytes 104857600\nstoregw_nodejs_heap_size_used_bytes 41943040\nstoregw_nodejs_heap_size_used_bytes_other 1\n';
    expect(heapFromMetrics(text)).toEqual({ heapUsedKiB: 40 * 1024, heapTotalKiB: 100 * 1024 });
    expect(heapFromMetrics('nothing here')).toBeUndefined();
  });
});
