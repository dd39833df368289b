import { describe, expect, it } from 'vitest';
import { MessageRateLimit } from './rate-limit.js';

describe('per-connection message rate limit', () => {
  it('takes a burst, then the steady rate', () => {
    const limit = new MessageRateLimit({ messagesPerSec: 10, burst: 3, closeAfterRejects: 100 }, 0);
    expect([limit.take(0), limit.take(0), limit.take(0), limit.take(0)]).toEqual(['ok', 'ok', 'ok', 'reject']);
    expect(limit.take(50)).toBe('reject');
    expect(limit.take(100)).toBe('ok');
    expect(limit.take(1000)).toBe('ok');
  });

  it('closes a connection that keeps flooding, not one that overshoots once', () => {
    const limit = new MessageRateLimit({ messagesPerSec: 1, burst: 1, closeAfterRejects: 3 }, 0);
    expect([limit.take(0), limit.take(0), limit.take(0), limit.take(0)]).toEqual(['ok', 'reject', 'reject', 'reject']);
    expect(limit.take(1)).toBe('close');

    const calm = new MessageRateLimit({ messagesPerSec: 1, burst: 1, closeAfterRejects: 3 }, 0);
    // Three refusals, then a quiet window: the count starts again.
    for (const t of [0, 1, 2, 3]) calm.take(t);
    expect(calm.take(10_500)).toBe('ok');
    expect([calm.take(10_501), calm.take(10_502), calm.take(10_503)]).toEqual(['reject', 'reject', 'reject']);
  });
});
