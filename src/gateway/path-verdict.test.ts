import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ForwardResult } from './forward.js';
import { pathVerdict } from './path-verdict.js';

const answered: ForwardResult = { ok: true, statusCode: 200, headers: {}, body: Readable.from([]) };
const failed = (failure: Extract<ForwardResult, { ok: false }>['failure'], maybeSent: boolean): ForwardResult => ({ ok: false, failure, detail: failure, maybeSent });

describe('what a request says of its path', () => {
  it('an answer: it works; no connection or a broken one: it does not; a timeout, a shed request or a body too large: nothing', () => {
    expect(pathVerdict(answered)).toBe(true);
    // Refused before a connection, or reset after the request may have gone.
    expect(pathVerdict(failed('unreachable', false))).toBe(false);
    expect(pathVerdict(failed('unreachable', true))).toBe(false);
    // A request that timed out on a silently dropping link must not count as the link working.
    expect(pathVerdict(failed('timeout', true))).toBeUndefined();
    // Nothing was sent before the deadline (no connection yet): safe to retry, and still no verdict on the path.
    expect(pathVerdict(failed('timeout', false))).toBeUndefined();
    expect(pathVerdict(failed('overloaded', false))).toBeUndefined();
    expect(pathVerdict(failed('body_too_large', false))).toBeUndefined();
  });

  it('an answer that broke off while read: the connection broke', () => {
    expect(pathVerdict(answered, true)).toBe(false);
  });
});
