import { describe, expect, it } from 'vitest';
import { ProbeTiming, type ProbeTimingSettings } from './probe-timing.js';

const SETTINGS: ProbeTimingSettings = { intervalMs: 500, fastIntervalMs: 100, timeoutMs: 1000, minTimeoutMs: 400, maxOutstanding: 3 };

function warmed(rttMs: number, n = 20): ProbeTiming {
  const t = new ProbeTiming(SETTINGS);
  for (let i = 0; i < n; i++) t.answered(rttMs);
  return t;
}

describe('probe deadlines', () => {
  it('gives the first probes the whole configured timeout', () => {
    expect(new ProbeTiming(SETTINGS).deadlineMs()).toBe(1000);
  });

  it('shrinks to the floor on a fast steady path', () => {
    expect(warmed(2).deadlineMs()).toBe(400);
  });

  it('follows SRTT + 4·RTTVAR on a slow, variable path, up to the timeout', () => {
    const t = new ProbeTiming(SETTINGS);
    for (let i = 0; i < 30; i++) t.answered(i % 2 === 0 ? 150 : 250);
    // SRTT near 200, RTTVAR near 50 → about 400..450.
    expect(t.deadlineMs()).toBeGreaterThan(400);
    expect(t.deadlineMs()).toBeLessThan(600);
    expect(warmed(1200).deadlineMs()).toBe(1000);
  });

  it('doubles after a loss so a path whose RTT jumped is measured again, and resets on an answer', () => {
    const t = warmed(2);
    t.lost();
    expect(t.deadlineMs()).toBe(800);
    t.lost();
    expect(t.deadlineMs()).toBe(1000);
    t.answered(2);
    expect(t.deadlineMs()).toBe(400);
  });

  it('lets an answer without a usable time (connection set-up) end the backoff, not shape the deadline', () => {
    const fresh = new ProbeTiming(SETTINGS);
    // A first probe that paid a 900 ms connection set-up would otherwise stretch the deadlines of the probes after it.
    fresh.answered();
    expect(fresh.deadlineMs()).toBe(1000);
    fresh.answered(2);
    expect(fresh.deadlineMs()).toBe(400);
    const t = warmed(2);
    t.lost();
    t.answered();
    expect(t.deadlineMs()).toBe(400);
  });
});

describe('answers TCP had to resend for', () => {
  it('judges an answer a retransmission\'s 200 ms later than the path\'s fastest recent round trip as resent', () => {
    const t = warmed(3);
    expect(t.retransmitted(210)).toBe(true);
    expect(t.retransmitted(150)).toBe(false);
  });

  it('knows nothing of a path before its first timed answer', () => {
    const t = new ProbeTiming(SETTINGS);
    t.answered();
    expect(t.retransmitted(5000)).toBe(false);
  });

  it('allows an answer on a new connection its set-up round trips', () => {
    const t = warmed(20);
    // 20 + 180 for the answer, three round trips more for TCP, WireGuard and TLS handshakes.
    expect(t.retransmitted(250)).toBe(true);
    expect(t.retransmitted(250, true)).toBe(false);
    expect(t.retransmitted(300, true)).toBe(true);
  });

  it('leaves the ordinary spread of a variable path alone: only answers past its deadline estimate count', () => {
    const t = new ProbeTiming(SETTINGS);
    for (let i = 0; i < 30; i++) t.answered(i % 2 === 0 ? 150 : 250);
    // Fastest 150 + 180 = 330, but SRTT + 4·RTTVAR is about 400: a 380 ms answer is this path's spread.
    expect(t.retransmitted(380)).toBe(false);
    expect(t.retransmitted(700)).toBe(true);
  });

  it('takes the floor over the recent answers only, so a path whose RTT rose is judged by its new round trips', () => {
    const t = warmed(3);
    for (let i = 0; i < 20; i++) t.answered(100);
    expect(t.retransmitted(250)).toBe(false);
    expect(t.retransmitted(320)).toBe(true);
  });
});

describe('probe cadence', () => {
  it('probes at once first, then at the steady interval', () => {
    const t = warmed(2);
    expect(t.nextSendAt(undefined, [])).toBe(0);
    expect(t.nextSendAt(1000, [])).toBe(1500);
  });

  it('keeps the steady interval while a probe is in flight but not overdue', () => {
    const t = warmed(2);
    // Sent at 1000, overdue at 1050: the next probe goes a fast interval after it, not at 1500.
    expect(t.nextSendAt(1000, [1000])).toBe(1100);
    const slow = warmed(200);
    // A 200 ms path is not overdue before SRTT + 4·RTTVAR has passed.
    expect(slow.nextSendAt(1000, [1000])).toBeGreaterThanOrEqual(1200);
  });

  it('sends at the fast cadence while a probe is overdue, up to maxOutstanding', () => {
    const t = warmed(2);
    expect(t.nextSendAt(1100, [1000, 1100])).toBe(1200);
    expect(t.nextSendAt(1200, [1000, 1100, 1200])).toBe(Infinity);
  });

  it('puts downAfter failures within about one deadline of the first overdue probe', () => {
    // A dead path, three failures needed: sends at 0, 100, 200; the last fails at 200 + 400.
    const t = warmed(2);
    const sent = [0];
    while (sent.length < 3) sent.push(t.nextSendAt(sent.at(-1), sent));
    expect(sent).toEqual([0, 100, 200]);
    expect(sent.at(-1)! + t.deadlineMs()).toBe(600);
  });
});
