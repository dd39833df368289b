import { describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES, message, parseCommandArgs, parseGatewayMessage, parseHubMessage, type TelemetryMessage } from './protocol.js';

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
});
