import { describe, expect, it } from 'vitest';
import { parseRelayMessage, type RelayedCommand } from './relay-messages.js';

const command: RelayedCommand = { kind: 'command', id: 'c-1', gatewayId: 'g-1', command: 'status', args: {}, timeoutMs: 1000, deadline: 5000, replyTo: 'abc' };

describe('messages between hub replicas', () => {
  it('reads back what a replica wrote', () => {
    expect(parseRelayMessage(JSON.stringify(command))).toEqual(command);
    const desired = { kind: 'desired', gatewayId: 'g-1', who: { name: 'alice', role: 'operator' } };
    expect(parseRelayMessage(JSON.stringify(desired))).toEqual(desired);
    for (const outcome of [
      { status: 'answered', id: 'c-1', ok: true, result: { n: 1 } },
      { status: 'answered', id: 'c-1', ok: false, error: { code: 'x', message: 'y' } },
      { status: 'offline' },
      { status: 'busy', reason: 'full' },
      { status: 'busy', reason: 'full', id: 'c-1' },
      { status: 'timeout', id: 'c-1' },
      { status: 'disconnected', id: 'c-1' },
    ]) {
      expect(parseRelayMessage(JSON.stringify({ kind: 'outcome', id: 'c-1', outcome }))).toEqual({ kind: 'outcome', id: 'c-1', outcome });
    }
  });

  it('takes nothing that is not one of them', () => {
    for (const bad of [
      'not json',
      'null',
      '[]',
      JSON.stringify({ ...command, kind: 'other' }),
      JSON.stringify({ ...command, id: '' }),
      JSON.stringify({ ...command, command: 'rm -rf' }),
      JSON.stringify({ ...command, args: [] }),
      JSON.stringify({ ...command, timeoutMs: 0 }),
      JSON.stringify({ ...command, deadline: '5000' }),
      JSON.stringify({ ...command, replyTo: undefined }),
      JSON.stringify({ kind: 'outcome', id: 'c-1', outcome: { status: 'answered', id: 'c-1' } }),
      JSON.stringify({ kind: 'outcome', id: 'c-1', outcome: { status: 'busy' } }),
      JSON.stringify({ kind: 'outcome', id: 'c-1', outcome: { status: 'lost' } }),
      JSON.stringify({ kind: 'desired', gatewayId: 'g-1' }),
      JSON.stringify({ kind: 'desired', gatewayId: 'g-1', who: { name: 'alice' } }),
    ]) {
      expect(parseRelayMessage(bad), bad).toBeUndefined();
    }
  });
});
