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

  it('comes back DEGRADED when the quality still crosses a threshold', () => {
    const m = new LinkStateMachine({ downAfter: 1, upAfter: 2 });
    run(m, 'x');
    expect(run(m, 'dd')).toBe('- degraded');
    expect(run(m, 'o')).toBe('up');
  });

  it('moves between UP and DEGRADED with the quality while the link carries', () => {
    const m = new LinkStateMachine({ downAfter: 3, upAfter: 5 });
    expect(run(m, 'ddoo')).toBe('degraded - up -');
  });
});
