import { describe, expect, it } from 'vitest';
import { ACKS_FEATURE, BATCH_EXAMPLES, MAX_ACK_IDS, MAX_FRAME_BYTES, message, offers, parseCommandArgs, parseGatewayMessage, parseHubMessage, type EventMessage, type TelemetryMessage } from './protocol.js';

const telemetry = message<TelemetryMessage>({
  type: 'telemetry',
  configVersion: 'abc',
  paths: [{ name: 'fiber', state: 'up', score: 98, rttMs: 12.5, jitterMs: 1, lossPct: 0, handshakeAgeS: 40, rxBps: 100, txBps: 50 }],
  queue: { pending: 0, dead: 0, oldestAgeS: 0 },
  requests: { critical: { forwarded: 3 } },
});

describe('fleet protocol', () => {
  it('takes a well-formed gateway message', () => {
    const parsed = parseGatewayMessage(JSON.stringify(telemetry));
    expect(parsed).toEqual({ ok: true, message: telemetry });
  });

  it.each([
    ['not JSON', '{"type":', 'malformed'],
    ['an array', '[1]', 'malformed'],
    ['an unknown type', JSON.stringify({ type: 'launch', id: 'x1', ts: 1 }), 'unknown_type'],
    ['a hub message from a gateway', JSON.stringify({ type: 'command', id: 'x1', ts: 1, command: 'status', args: {} }), 'unknown_type'],
    ['a missing field', JSON.stringify({ ...telemetry, queue: undefined }), 'invalid'],
    ['an extra field', JSON.stringify({ ...telemetry, extra: 1 }), 'invalid'],
    ['a wrong link state', JSON.stringify({ ...telemetry, paths: [{ ...telemetry.paths[0], state: 'sideways' }] }), 'invalid'],
  ])('refuses %s with a clear code', (_name, frame, code) => {
    const parsed = parseGatewayMessage(frame);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.code).toBe(code);
  });

  it('takes every link state, unknown (a path not judged yet) included', () => {
    for (const state of ['unknown', 'up', 'degraded', 'down']) {
      expect(parseGatewayMessage(JSON.stringify({ ...telemetry, paths: [{ ...telemetry.paths[0], state }] })).ok, state).toBe(true);
    }
  });

  it('names the offending message so the error reply can refer to it', () => {
    const parsed = parseGatewayMessage(JSON.stringify({ ...telemetry, id: 'abc-1', queue: 'full' }));
    expect(parsed).toMatchObject({ ok: false, error: { code: 'invalid', re: 'abc-1', message: expect.stringContaining('/queue') } });
  });

  it('refuses an oversized frame before parsing it', () => {
    const parsed = parseHubMessage(Buffer.alloc(MAX_FRAME_BYTES + 1, 0x20));
    expect(parsed).toMatchObject({ ok: false, error: { code: 'too_large' } });
  });

  it('checks each command\'s args against its own schema', () => {
    const cmd = parseHubMessage(JSON.stringify({ type: 'command', id: 'c1', ts: 5, command: 'replay.setRate', args: { ratePerSec: 10 } }));
    expect(cmd.ok).toBe(true);
    expect(parseCommandArgs('replay.setRate', { ratePerSec: 10 })).toEqual({ ok: true, args: { ratePerSec: 10 } });
    expect(parseCommandArgs('replay.setRate', { ratePerSec: -1 })).toMatchObject({ ok: false, message: expect.stringContaining('ratePerSec') });
    expect(parseCommandArgs('queue.retry', { receipts: ['not-a-receipt'] }).ok).toBe(false);
    expect(parseCommandArgs('replay.pause', { now: true }).ok).toBe(false);
  });

  it('takes an ack naming one to MAX_ACK_IDS message ids, from the hub only', () => {
    const ack = { type: 'ack', id: 'a1', ts: 5, ids: [telemetry.id, 'e-2'] };
    expect(parseHubMessage(JSON.stringify(ack))).toEqual({ ok: true, message: ack });
    expect(parseHubMessage(JSON.stringify({ ...ack, ids: [] }))).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringContaining('/ids') } });
    expect(parseHubMessage(JSON.stringify({ ...ack, ids: Array.from({ length: MAX_ACK_IDS + 1 }, (_, i) => `m${i}`) }))).toMatchObject({ ok: false, error: { message: expect.stringContaining('/ids') } });
    expect(parseHubMessage(JSON.stringify({ ...ack, ids: ['not an id'] }))).toMatchObject({ ok: false, error: { message: expect.stringContaining('/ids/0') } });
    expect(parseGatewayMessage(JSON.stringify(ack))).toMatchObject({ ok: false, error: { code: 'unknown_type' } });
  });

  it('reads the features header as an HTTP list: any case, any spacing, repeated headers; absent is none', () => {
    expect(offers('acks', ACKS_FEATURE)).toBe(true);
    expect(offers('later, ACKS ', ACKS_FEATURE)).toBe(true);
    expect(offers(['later', 'acks'], ACKS_FEATURE)).toBe(true);
    expect(offers('acksx, later', ACKS_FEATURE)).toBe(false);
    expect(offers('', ACKS_FEATURE)).toBe(false);
    expect(offers(undefined, ACKS_FEATURE)).toBe(false);
  });

  it('takes a drain grant only with a rate and a lease in bounds, and says what is wrong', () => {
    const grant = { type: 'drain.grant', id: 'g1', ts: 5, ratePerSec: 12.5, leaseMs: 30_000 };
    expect(parseHubMessage(JSON.stringify(grant))).toEqual({ ok: true, message: grant });
    expect(parseHubMessage(JSON.stringify({ ...grant, ratePerSec: 0 })).ok).toBe(true);
    expect(parseHubMessage(JSON.stringify({ ...grant, ratePerSec: -1 }))).toEqual({ ok: false, error: { code: 'invalid', re: 'g1', message: 'drain.grant: /ratePerSec: must be >= 0' } });
    expect(parseHubMessage(JSON.stringify({ ...grant, leaseMs: 10 }))).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringContaining('/leaseMs') } });
    expect(parseHubMessage(JSON.stringify({ ...grant, leaseMs: 1.5 }))).toMatchObject({ ok: false, error: { message: expect.stringContaining('/leaseMs') } });
    const { leaseMs: _lease, ...noLease } = grant;
    expect(parseHubMessage(JSON.stringify(noLease))).toMatchObject({ ok: false, error: { message: expect.stringContaining('leaseMs') } });
    expect(parseHubMessage(JSON.stringify({ ...grant, region: 'eu' }))).toMatchObject({ ok: false, error: { message: expect.stringContaining('(region)') } });
    // The hub sends grants; a gateway does not.
    expect(parseGatewayMessage(JSON.stringify(grant))).toMatchObject({ ok: false, error: { code: 'unknown_type' } });
  });

  describe('entries expiring and given up in numbers', () => {
    const RECEIPT = '00000000-0000-4000-8000-000000000002';
    const entries = [{ receipt: RECEIPT, route: 'pos-orders', reason: 'expired: pending longer than 168 h' }];
    const event = (name: string, details: unknown) => JSON.stringify(message<EventMessage>({ type: 'event', event: name as EventMessage['event'], details: details as Record<string, unknown> }, 'ev-2'));
    const expired = { count: 12_000, maxAgeHours: 168, entries };
    const summary = { count: 480, sinceTs: 1_700_000_000_000, entries };
    const near = { fraction: 0.9, oldestAgeS: 545_000, maxAgeS: 604_800, pending: 310 };

    it('takes journal.expired with a count, the max age and the first few entries, never a list of them all', () => {
      expect(parseGatewayMessage(event('journal.expired', expired))).toMatchObject({ ok: true, message: { event: 'journal.expired', details: expired } });
      const many = Array.from({ length: BATCH_EXAMPLES + 1 }, () => entries[0]);
      expect(parseGatewayMessage(event('journal.expired', { ...expired, entries: many }))).toEqual({
        ok: false,
        error: { code: 'invalid', re: 'ev-2', message: `event journal.expired: /details/entries: must NOT have more than ${BATCH_EXAMPLES} items` },
      });
      expect(parseGatewayMessage(event('journal.expired', { ...expired, count: 0 }))).toMatchObject({ ok: false, error: { message: expect.stringContaining('/details/count') } });
      expect(parseGatewayMessage(event('journal.expired', { ...expired, entries: [{ ...entries[0], route: '' }] }))).toMatchObject({ ok: false, error: { message: expect.stringContaining('/details/entries/0/route') } });
    });

    it('takes the summaries of dead letters and unknown outcomes past the per-minute limit', () => {
      for (const name of ['dead_letter.summary', 'unknown_outcome.summary']) {
        expect(parseGatewayMessage(event(name, summary)).ok, name).toBe(true);
        const { sinceTs: _since, ...noSince } = summary;
        expect(parseGatewayMessage(event(name, noSince)), name).toMatchObject({ ok: false, error: { message: expect.stringContaining("must have required property 'sinceTs'") } });
      }
    });

    it('takes a near-expiry warning and its clearing only with a fraction of the max age', () => {
      for (const name of ['journal.near_expiry', 'journal.near_expiry_cleared']) {
        expect(parseGatewayMessage(event(name, near)).ok, name).toBe(true);
        for (const fraction of [0, 1, 1.5, '0.9', null]) {
          expect(parseGatewayMessage(event(name, { ...near, fraction })), `${name} ${fraction}`).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringContaining('/details/fraction') } });
        }
        expect(parseGatewayMessage(event(name, 'soon')), name).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringContaining('/details') } });
      }
    });

    it('takes telemetry with the max age and the warning in force, or none (null), or neither (older gateways)', () => {
      for (const q of [{ maxAgeS: 604_800, expiryWarning: 0.5 }, { maxAgeS: 604_800, expiryWarning: null }, {}]) {
        expect(parseGatewayMessage(JSON.stringify({ ...telemetry, queue: { ...telemetry.queue, ...q } })).ok, JSON.stringify(q)).toBe(true);
      }
      for (const q of [{ maxAgeS: 0 }, { expiryWarning: 1 }, { expiryWarning: '0.5' }]) {
        expect(parseGatewayMessage(JSON.stringify({ ...telemetry, queue: { ...telemetry.queue, ...q } })), JSON.stringify(q)).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringContaining('/queue/') } });
      }
    });
  });

  describe('unknown outcomes', () => {
    const RECEIPT = '00000000-0000-4000-8000-000000000001';
    const outcome = { receipt: RECEIPT, route: 'stock-barcode', cls: 'critical', reason: 'timeout after 8000 ms', attempts: 1 };
    const event = (details: Record<string, unknown>) => JSON.stringify(message<EventMessage>({ type: 'event', event: 'unknown_outcome', details }, 'ev-1'));
    const settle = { receipts: [RECEIPT], as: 'retry', by: 'ops-alice' };

    it('takes telemetry with and without the unknown count (gateways before the unknown state omit it)', () => {
      expect(parseGatewayMessage(JSON.stringify({ ...telemetry, queue: { ...telemetry.queue, unknown: 2 } })).ok).toBe(true);
      expect(parseGatewayMessage(JSON.stringify(telemetry)).ok).toBe(true);
      for (const unknown of [-1, 1.5, '2', null]) {
        expect(parseGatewayMessage(JSON.stringify({ ...telemetry, queue: { ...telemetry.queue, unknown } }))).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringContaining('/queue/unknown') } });
      }
    });

    it('takes an unknown_outcome event only with the outcome\'s fields, and says which one is wrong', () => {
      expect(parseGatewayMessage(event(outcome))).toMatchObject({ ok: true, message: { event: 'unknown_outcome', details: outcome } });
      expect(parseGatewayMessage(event({ ...outcome, receipt: 'nope' }))).toEqual({ ok: false, error: { code: 'invalid', re: 'ev-1', message: expect.stringMatching(/^event unknown_outcome: \/details\/receipt: must match pattern/) } });
      expect(parseGatewayMessage(event({ ...outcome, attempts: -1 }))).toMatchObject({ ok: false, error: { message: expect.stringContaining('/details/attempts') } });
      expect(parseGatewayMessage(event({ ...outcome, extra: 1 }))).toMatchObject({ ok: false, error: { message: expect.stringContaining('(extra)') } });
      const { route: _route, ...noRoute } = outcome;
      expect(parseGatewayMessage(event(noRoute))).toMatchObject({ ok: false, error: { message: expect.stringContaining("must have required property 'route'") } });
      // A dead letter carries the same fields; other events keep free-form details.
      expect(parseGatewayMessage(JSON.stringify({ ...JSON.parse(event(outcome)), event: 'dead_letter' })).ok).toBe(true);
      expect(parseGatewayMessage(JSON.stringify({ ...JSON.parse(event({ ...outcome, receipt: 'nope' })), event: 'dead_letter' }))).toMatchObject({ ok: false, error: { message: expect.stringContaining('event dead_letter: /details/receipt') } });
      expect(parseGatewayMessage(JSON.stringify({ ...JSON.parse(event({ anything: [1] })), event: 'quota.pressure' })).ok).toBe(true);
    });

    it('lists unknown entries and settles them only with receipts, a verdict and who gave it', () => {
      expect(parseCommandArgs('queue.list', { state: 'unknown' }).ok).toBe(true);
      expect(parseCommandArgs('queue.settle', settle)).toEqual({ ok: true, args: settle });
      expect(parseCommandArgs('queue.settle', { ...settle, as: 'delivered' }).ok).toBe(true);
      const refused: [Record<string, unknown>, string][] = [
        [{ ...settle, as: 'discard' }, '/as'],
        [{ ...settle, receipts: [] }, '/receipts'],
        [{ ...settle, receipts: Array.from({ length: 1001 }, () => RECEIPT) }, '/receipts'],
        [{ ...settle, receipts: ['not-a-receipt'] }, '/receipts/0'],
        [{ ...settle, by: '' }, '/by'],
        [{ ...settle, by: 'x'.repeat(129) }, '/by'],
        [{ ...settle, by: 'alice\nforged log line' }, '/by'],
        [{ receipts: [RECEIPT], as: 'retry' }, "required property 'by'"],
        [{ ...settle, extra: true }, '(extra)'],
      ];
      for (const [args, where] of refused) expect(parseCommandArgs('queue.settle', args), JSON.stringify(args).slice(0, 80)).toMatchObject({ ok: false, message: expect.stringContaining(where) });
    });
  });
});
