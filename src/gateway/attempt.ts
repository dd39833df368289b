// One attempt through the uplinks: the pipeline every request to the ERP goes
// through — a client's live try, a buffered entry's live try, a replayed
// delivery and a read-back alike. Choose the best path for the class → wait for
// a slot on it and send (forward) → judge what the result says of the path,
// for the link monitor (pathVerdict). What the attempt means for the journal
// and the ERP breaker is the caller's (sync/replay.ts settle), as is when to
// judge: on the answer's headers, or once its body has been read whole.
import type { ClassName, ClassSettingsConfig } from '../../edge-config/schema.js';
import type { PathView } from '../link/path-view.js';
import { forward, type ForwardRequest, type ForwardResult } from './forward.js';
import { pathVerdict } from './path-verdict.js';
import { pickUpstream, type Upstream } from './upstreams.js';

export interface AttemptContext {
  upstreams: ReadonlyMap<string, Upstream>;
  pathViews: readonly PathView[];
  classes: Record<ClassName, ClassSettingsConfig>;
  /** Where a path's verdict goes (the link monitor). */
  pathOutcome(path: string, reached: boolean): void;
}

/** `kind`: a client's live try, or the replay engine (which waits behind live traffic). */
export type AttemptCall = ForwardRequest;

export interface Attempted {
  /** The path tried. */
  path: string;
  result: ForwardResult;
  /**
   * Tells the link monitor what the result says of the path; the first call
   * counts. `answerCutOff`: the answer's body broke off while it was read.
   * Not called when the attempt says nothing of the path (the client broke off).
   */
  judge(answerCutOff?: boolean): void;
}

/** The attempt through the best path for the class now; undefined when no path can carry it. */
export async function attemptThrough(call: AttemptCall, ctx: AttemptContext): Promise<Attempted | undefined> {
  const upstream = pickUpstream(call.cls, ctx.pathViews, ctx.upstreams, ctx.classes);
  if (!upstream) return undefined;
  const forwarded = await forward(upstream, call);
  // A bulk answer on a path with a byte budget is read through its meter (bytes.ts).
  const result = forwarded.ok && call.cls === 'bulk' && upstream.bulk ? { ...forwarded, body: upstream.bulk.lane.meter(forwarded.body, forwarded.headers) } : forwarded;
  let judged = false;
  return {
    path: upstream.name,
    result,
    judge(answerCutOff = false) {
      if (judged) return;
      judged = true;
      const verdict = pathVerdict(result, answerCutOff);
      if (verdict !== undefined) ctx.pathOutcome(upstream.name, verdict);
    },
  };
}
