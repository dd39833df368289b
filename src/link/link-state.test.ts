import { describe, expect, it } from 'vitest';
import { LinkStateMachine } from './link-state.js';

const run = (m: LinkStateMachine, outcomes: string) => [...outcomes].map((c) => m.observe(c !== 'x', c === 'd')?.to ?? '-').join(' ');

describe('link state machine', () => {
  it('goes DOWN only after downAfter failures in a row: one lost probe changes nothing', () => {
    const m = new LinkStateMachine({ downAfter: 3, upAfter: 5 });
    expect(run(m, 'oxoxxo')).toBe('- - - - - -');
    expect(m.state).toBe('up');
    expect(run(m, 'xxx')).toBe('- - down');
  });

  it('comes back only after upAfter successes in a row', () => {
    const m = new LinkStateMachine({ downAfter: 2, upAfter: 3 });
    run(m, 'xx');
    expect(run(m, 'ooxooo')).toBe('- - - - - up');
  });

  it('tells which outcome will bring a DOWN link back', () => {
    const m = new LinkStateMachine({ downAfter: 1, upAfter: 2 });
    expect(m.recoversWith(true)).toBe(false);
    run(m, 'xo');
    expect(m.recoversWith(false)).toBe(false);
    expect(m.recoversWith(true)).toBe(true);
  });

  it('comes back DEGRADED when the quality still crosses a threshold', () => {
    const m = new LinkStateMachine({ downAfter: 1, upAfter: 2 });
    run(m, 'x');
    expect(run(m, 'dd')).toBe('- degraded');
    expect(run(m, 'oo')).toBe('- up');
  });

  it('turns DEGRADED at once and UP only after upAfter clean outcomes, so a link at a threshold does not flap', () => {
    const m = new LinkStateMachine({ downAfter: 3, upAfter: 3 });
    expect(run(m, 'od')).toBe('- degraded');
    expect(run(m, 'odood')).toBe('- - - - -');
    expect(m.state).toBe('degraded');
    expect(run(m, 'ooo')).toBe('- - up');
  });

  it('counts a lost probe against a DEGRADED link coming back', () => {
    const m = new LinkStateMachine({ downAfter: 3, upAfter: 3 });
    run(m, 'd');
    expect(run(m, 'ooxooo')).toBe('- - - - - up');
  });

  it('counts towards leaving DEGRADED only outcomes clear of the thresholds, not those just under them', () => {
    const m = new LinkStateMachine({ downAfter: 3, upAfter: 2 });
    m.observe(true, true);
    expect(m.state).toBe('degraded');
    // Just under the thresholds: not degraded, not clear either.
    for (let i = 0; i < 5; i++) m.observe(true, false, false);
    expect(m.state).toBe('degraded');
    m.observe(true, false, true);
    expect(m.observe(true, false, true)?.to).toBe('up');
  });
});
