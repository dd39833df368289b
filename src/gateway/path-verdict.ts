// What one request's fate says of the path that carried it, for the link
// monitor: the one rule for a client's live try, a buffered entry's live try
// and a replayed delivery alike.
import type { ForwardResult } from './forward.js';

/**
 * true: the path works (the ERP answered). false: it does not (no connection,
 * or one that broke: refused, reset, unreachable, an answer cut off while
 * read). undefined: it says nothing either way: a timeout (on an open
 * connection the ERP may just be slow; on a silently dropping link no
 * connection came, and a timeout must never pass for the link working), a
 * request shed for want of a slot (nothing was sent), a client's body too
 * large. `answerCutOff`: the answer's body broke off while the gateway read it whole.
 */
export function pathVerdict(result: ForwardResult, answerCutOff = false): boolean | undefined {
  if (result.ok) return !answerCutOff;
  return result.failure === 'unreachable' ? false : undefined;
}
