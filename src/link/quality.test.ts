import { describe, expect, it } from 'vitest';
import { LinkQuality, score } from './quality.js';

const t = { rttMs: 300, lossPct: 5, jitterMs: 50 };

describe('link quality', () => {
  it('follows RTT with an EWMA and reports the recent median and p95', () => {
    const q = new LinkQuality(20);
    for (const r of [10, 10, 10, 10, 50]) q.record(r);
    const s = q.snapshot(t);
    expect(s.rttMs).toBeCloseTo(18, 5);
    // One slow answer: the EWMA reads it, the median does not.
    expect(s.rttP50Ms).toBe(10);
    expect(s.rttP95Ms).toBe(50);
  });

  it('forgets an outage\'s losses when asked, keeping the answered probes', () => {
    const q = new LinkQuality(20);
    for (const r of [10, null, null, null, 12, 11]) q.record(r);
    expect(q.snapshot(t).lossPct).toBe(50);
    q.forgetLosses();
    expect(q.snapshot(t)).toMatchObject({ lossPct: 0, samples: 3 });
  });

  it('counts an answer that had to open its connection as answered, but not as a round trip', () => {
    const q = new LinkQuality(20);
    // The first probe's 900 ms were mostly connection set-up.
    q.recordUntimed();
    for (const r of [10, 12, 10, 12]) q.record(r);
    q.record(null);
    const s = q.snapshot(t);
    expect(s.rttMs).toBeCloseTo(10.4, 5);
    expect(s.rttP50Ms).toBe(10);
    expect(s.rttP95Ms).toBe(12);
    expect(s.jitterMs).toBeCloseTo(2 / 16, 5);
    expect(s).toMatchObject({ lossPct: 100 / 6, samples: 6 });
  });

  it('seeds the RTT with the median of the first three answers: one slow answer at start does not linger', () => {
    const q = new LinkQuality(20);
    q.record(115);
    q.record(3);
    expect(q.snapshot(t).rttMs).toBeUndefined();
    q.record(3.2);
    expect(q.snapshot(t).rttMs).toBe(3.2);
    // Seeded with 115 the EWMA would still read above 20 ms seven answers later.
    for (let i = 0; i < 7; i++) q.record(3);
    expect(q.snapshot(t).rttMs).toBeLessThan(3.2);
    expect(q.snapshot(t).jitterMs).toBeLessThan(0.1);
  });

  it('gives path choice the same score as the snapshot, as answers, losses and untimed probes come and losses leave the window', () => {
    const q = new LinkQuality(5);
    const same = () => expect(q.score(t)).toBe(q.snapshot(t).score);
    same();
    for (const r of [10, null, 400, 12, null, 11, 9, 9, 9, 9, 9]) {
      q.record(r);
      same();
    }
    q.recordUntimed();
    same();
    expect(q.score(t)).toBeLessThan(100);
  });

  it('has no RTT while every answer so far was untimed', () => {
    const q = new LinkQuality(20);
    q.recordUntimed();
    expect(q.snapshot(t)).toMatchObject({ rttMs: undefined, rttP50Ms: undefined, rttP95Ms: undefined, jitterMs: 0, lossPct: 0, score: 100 });
  });

  it('computes jitter as RFC 3550 does: J += (|D| - J)/16', () => {
    const q = new LinkQuality();
    for (const r of [10, 10, 10]) q.record(r);
    q.record(26);
    expect(q.snapshot(t).jitterMs).toBeCloseTo(1, 5);
    q.record(10);
    expect(q.snapshot(t).jitterMs).toBeCloseTo(1 + (16 - 1) / 16, 5);
  });

  it('counts loss over the sliding window only', () => {
    const q = new LinkQuality(10);
    q.record(null);
    for (let i = 0; i < 9; i++) q.record(5);
    expect(q.snapshot(t).lossPct).toBe(10);
    q.record(5);
    expect(q.snapshot(t).lossPct).toBe(0);
  });

  it('scores a clean link 100, a dead one 0, and a link at its thresholds in between', () => {
    expect(score(5, 0, 0, t)).toBe(100);
    expect(score(undefined, 0, 100, t)).toBe(0);
    expect(score(300, 50, 5, t)).toBe(50);
    expect(score(300, 0, 0, t)).toBe(85);
    expect(score(600, 100, 10, t)).toBe(0);
  });

  it('is DEGRADED past any threshold: loss, RTT or jitter alone', () => {
    const lossy = new LinkQuality(20);
    for (let i = 0; i < 19; i++) lossy.record(5);
    lossy.record(null);
    expect(lossy.isDegraded(t)).toBe(false);
    lossy.record(null);
    expect(lossy.isDegraded(t)).toBe(true);
    const slow = new LinkQuality(20);
    for (let i = 0; i < 40; i++) slow.record(310);
    expect(slow.isDegraded(t)).toBe(true);
    const jittery = new LinkQuality(20);
    for (let i = 0; i < 40; i++) jittery.record(i % 2 ? 10 : 150);
    expect(jittery.snapshot(t).lossPct).toBe(0);
    expect(jittery.snapshot(t).rttMs).toBeLessThan(t.rttMs);
    expect(jittery.isDegraded(t)).toBe(true);
  });

  it('is clear of DEGRADED only well below the RTT and jitter thresholds', () => {
    const at = (rttMs: number) => {
      const q = new LinkQuality(20);
      for (let i = 0; i < 40; i++) q.record(rttMs);
      return q;
    };
    expect(at(290).isDegraded(t)).toBe(false);
    expect(at(290).isClear(t)).toBe(false);
    expect(at(200).isClear(t)).toBe(true);
  });

  it('is clear of DEGRADED only after twice the window at half the loss threshold', () => {
    const q = new LinkQuality(20);
    q.record(null);
    for (let i = 0; i < 38; i++) q.record(5);
    // 1 loss in the last 20 would not even be clear of 4%; in the last 39 it is 2.6%.
    expect(q.snapshot(t).lossPct).toBe(0);
    expect(q.isClear(t)).toBe(false);
    q.record(5);
    expect(q.isClear(t)).toBe(false);
    q.record(5);
    expect(q.isClear(t)).toBe(true);
  });
});
