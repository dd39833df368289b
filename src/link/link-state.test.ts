import { describe, expect, it } from 'vitest';
import { type Hysteresis, LinkStateMachine } from './link-state.js';

/** A machine and a fake clock: each outcome of run() happens `stepMs` after the one before. */
function machine(h: Partial<Hysteresis>, stepMs = 100) {
  const m = new LinkStateMachine({ downAfter: 3, upAfter: 5, upHoldDownMs: 0, ...h });
  let now = 0;
  /** o: a clean success, d: a success with the quality past a threshold, x: a failure. */
  const run = (outcomes: string) =>
    [...outcomes]
      .map((c) => {
        now += stepMs;
        return m.observe({ ok: c !== 'x', degraded: c === 'd', clear: c === 'o', at: now })?.to ?? '-';
      })
      .join(' ');
  return { m, run, at: () => now };
}

describe('link state machine', () => {
  it('is UNKNOWN until the first outcome settles it: a success makes it UP', () => {
    const { m, run } = machine({});
    expect(m.state).toBe('unknown');
    expect(run('o')).toBe('up');
  });

  it('settles UNKNOWN as DEGRADED when the first success already crosses a threshold', () => {
    const { run } = machine({});
    expect(run('d')).toBe('degraded');
  });

  it('stays UNKNOWN through failures short of downAfter, and is DOWN at downAfter', () => {
    const { m, run } = machine({ downAfter: 3 });
    expect(run('xx')).toBe('- -');
    expect(m.state).toBe('unknown');
    expect(run('x')).toBe('down');
  });

  it('settles UNKNOWN as UP on a success after some failures (the first connection can be slow)', () => {
    const { run } = machine({ downAfter: 3 });
    expect(run('xxo')).toBe('- - up');
  });

  it('goes DOWN only after downAfter failures in a row: one lost probe changes nothing', () => {
    const { m, run } = machine({ downAfter: 3 });
    run('o');
    expect(run('oxoxxo')).toBe('- - - - - -');
    expect(m.state).toBe('up');
    expect(run('xxx')).toBe('- - down');
  });

  it('comes back only after upAfter successes in a row', () => {
    const { run } = machine({ downAfter: 2, upAfter: 3 });
    run('oxx');
    expect(run('ooxooo')).toBe('- - - - - up');
  });

  it('comes back from DOWN only once upHoldDownMs have passed since the last failure, however many successes', () => {
    const { run } = machine({ downAfter: 2, upAfter: 3, upHoldDownMs: 1000 }, 100);
    run('oxx');
    // 3 successes after 300 ms would be enough by count; the hold-down wants 1000 ms.
    expect(run('oooooooo')).toBe('- - - - - - - -');
    expect(run('oo')).toBe('- up');
  });

  it('rejects a line that flaps within the hold-down: a failure restarts it', () => {
    const { m, run } = machine({ downAfter: 2, upAfter: 3, upHoldDownMs: 1000 }, 100);
    run('oxx');
    for (let i = 0; i < 5; i++) expect(run('oooooooox')).toBe('- - - - - - - - -');
    expect(m.state).toBe('down');
    expect(run('oooooooooo')).toBe('- - - - - - - - - up');
  });

  it('does not hold a path down that came back long after its last failure: the count decides', () => {
    const { run } = machine({ downAfter: 1, upAfter: 3, upHoldDownMs: 1000 }, 2000);
    run('ox');
    expect(run('ooo')).toBe('- - up');
  });

  it('tells which outcome will bring a DOWN link back, hold-down included', () => {
    const { m, run, at } = machine({ downAfter: 1, upAfter: 2, upHoldDownMs: 500 }, 100);
    expect(m.recoversWith(true, at())).toBe(false);
    run('oxo');
    expect(m.recoversWith(false, at() + 1000)).toBe(false);
    expect(m.recoversWith(true, at() + 100)).toBe(false);
    expect(m.recoversWith(true, at() + 400)).toBe(true);
  });

  it('comes back DEGRADED when the quality still crosses a threshold', () => {
    const { run } = machine({ downAfter: 1, upAfter: 2 });
    run('ox');
    expect(run('dd')).toBe('- degraded');
    expect(run('oo')).toBe('- up');
  });

  it('turns DEGRADED at once and UP only after upAfter clean outcomes, so a link at a threshold does not flap', () => {
    const { m, run } = machine({ downAfter: 3, upAfter: 3 });
    expect(run('ood')).toBe('up - degraded');
    expect(run('odood')).toBe('- - - - -');
    expect(m.state).toBe('degraded');
    expect(run('ooo')).toBe('- - up');
  });

  it('counts a lost probe against a DEGRADED link coming back', () => {
    const { run } = machine({ downAfter: 3, upAfter: 3 });
    run('d');
    expect(run('ooxooo')).toBe('- - - - - up');
  });

  it('counts towards leaving DEGRADED only outcomes clear of the thresholds, not those just under them', () => {
    const m = new LinkStateMachine({ downAfter: 3, upAfter: 2, upHoldDownMs: 0 });
    m.observe({ ok: true, degraded: true, clear: false, at: 0 });
    expect(m.state).toBe('degraded');
    // Just under the thresholds: not degraded, not clear either.
    for (let i = 0; i < 5; i++) m.observe({ ok: true, degraded: false, clear: false, at: i });
    expect(m.state).toBe('degraded');
    m.observe({ ok: true, degraded: false, clear: true, at: 6 });
    expect(m.observe({ ok: true, degraded: false, clear: true, at: 7 })?.to).toBe('up');
  });
});
