import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { EntryView } from '../../../sync/journal-store.js';
import { createLogger } from '../../log.js';
import type { CommandMessage } from '../protocol.js';
import { CommandMemo, CommandRunner, unknownCommand } from './commands.js';
import type { AgentHost } from './host.js';
import type { Outcome } from './outcome.js';

const quiet = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
const DEAD = '00000000-0000-4000-8000-000000000001';
const PENDING = '00000000-0000-4000-8000-000000000002';
const UNKNOWN = '00000000-0000-4000-8000-000000000003';
const IN_DOUBT = '00000000-0000-4000-8000-000000000004';
const IN_DOUBT_2 = '00000000-0000-4000-8000-000000000005';

function fakeHost() {
  const calls: string[] = [];
  const states = new Map<string, EntryView['state']>([
    [DEAD, 'dead'],
    [PENDING, 'pending'],
    [IN_DOUBT, 'unknown'],
    [IN_DOUBT_2, 'unknown'],
  ]);
  const replay = { paused: false, ratePerSec: 50, inflight: 0 };
  const host = {
    journal: {
      list: async () => [],
      byReceipt: async (r: string) => (states.has(r) ? ({ receipt: r, state: states.get(r) } as EntryView) : undefined),
      retryDead: async (r: string) => {
        calls.push(`retry ${r}`);
        if (states.get(r) !== 'dead') return false;
        states.set(r, 'pending');
        return true;
      },
      discard: async () => false,
      settle: async (r: string, as: 'retry' | 'delivered', by: string) => {
        calls.push(`settle ${r} ${as} ${by}`);
        if (states.get(r) !== 'unknown') return false;
        states.set(r, as === 'retry' ? 'pending' : 'delivered');
        return true;
      },
    },
    replay: {
      pause: () => void (replay.paused = true),
      resume: () => void (replay.paused = false),
      setRate: (n: number) => {
        calls.push(`rate ${n}`);
        replay.ratePerSec = n;
      },
      grant: () => void calls.push('grant'),
      wake: () => void calls.push('wake'),
      status: () => ({ ...replay }),
    },
    status: async () => {
      throw new Error('journal worker exited');
    },
  } as unknown as AgentHost;
  return { host, calls };
}

const command = (id: string, name: CommandMessage['command'], args: Record<string, unknown> = {}): CommandMessage => ({ type: 'command', id, ts: 1, command: name, args });

function runner(host: AgentHost) {
  return new CommandRunner({ host, config: { apply: async () => ({ ok: true, result: {} }) }, logger: quiet });
}

describe('commands', () => {
  it('acts once per id: a repeat, even while the first still runs, gets the same outcome', async () => {
    const memo = new CommandMemo(3);
    let acted = 0;
    let finish: (o: Outcome) => void = () => undefined;
    const act = () => {
      acted++;
      return new Promise<Outcome>((resolve) => (finish = resolve));
    };
    const first = memo.run('a', act);
    const again = memo.run('a', act);
    expect(again.repeated).toBe(true);
    finish({ ok: true, result: 1 });
    expect(await again.outcome).toEqual(await first.outcome);
    expect(acted).toBe(1);
  });

  it('forgets the oldest ids beyond its capacity', async () => {
    const memo = new CommandMemo(2);
    const act = async (): Promise<Outcome> => ({ ok: true, result: null });
    for (const id of ['a', 'b', 'c']) memo.run(id, act);
    expect(memo.run('c', act).repeated).toBe(true);
    expect(memo.run('a', act).repeated).toBe(false);
  });

  it('sets the replay rate once for a repeated command id', async () => {
    const { host, calls } = fakeHost();
    const r = runner(host);
    const a = await r.run(command('c-1', 'replay.setRate', { ratePerSec: 7 }));
    const b = await r.run(command('c-1', 'replay.setRate', { ratePerSec: 7 }));
    expect(a).toEqual({ ok: true, result: { paused: false, ratePerSec: 7, inflight: 0 } });
    expect(b).toBe(a);
    expect(calls).toEqual(['rate 7']);
  });

  it('refuses invalid args without acting', async () => {
    const { host, calls } = fakeHost();
    expect(await runner(host).run(command('c-2', 'replay.setRate', { ratePerSec: -1 }))).toMatchObject({ ok: false, error: { code: 'invalid_args' } });
    expect(calls).toEqual([]);
  });

  it('retries dead letters one by one and says what became of each', async () => {
    const { host, calls } = fakeHost();
    expect(await runner(host).run(command('c-3', 'queue.retry', { receipts: [DEAD, PENDING, UNKNOWN] }))).toEqual({
      ok: true,
      result: {
        results: [
          { receipt: DEAD, ok: true, state: 'pending' },
          { receipt: PENDING, ok: false, state: 'pending', error: 'not_dead' },
          { receipt: UNKNOWN, ok: false, error: 'unknown_receipt' },
        ],
      },
    });
    expect(calls.at(-1)).toBe('wake');
  });

  it('settles unknown outcomes one by one, says what became of each, and wakes replay', async () => {
    const { host, calls } = fakeHost();
    const r = runner(host);
    expect(await r.run(command('c-5', 'queue.settle', { receipts: [IN_DOUBT, PENDING, UNKNOWN], as: 'retry', by: 'ops-alice' }))).toEqual({
      ok: true,
      result: {
        results: [
          { receipt: IN_DOUBT, ok: true, state: 'pending' },
          { receipt: PENDING, ok: false, state: 'pending', error: 'not_unknown' },
          { receipt: UNKNOWN, ok: false, error: 'unknown_receipt' },
        ],
      },
    });
    expect(calls.filter((c) => c.startsWith('settle ')).at(0)).toBe(`settle ${IN_DOUBT} retry ops-alice`);
    expect(calls.at(-1)).toBe('wake');
    // Marked delivered: the entries queued behind it under its ordering key may go now.
    expect(await r.run(command('c-6', 'queue.settle', { receipts: [IN_DOUBT_2], as: 'delivered', by: 'ops-bob' }))).toEqual({ ok: true, result: { results: [{ receipt: IN_DOUBT_2, ok: true, state: 'delivered' }] } });
    expect(calls.slice(-2)).toEqual([`settle ${IN_DOUBT_2} delivered ops-bob`, 'wake']);
  });

  it('settles nothing without who decided, and does not wake replay when nothing was settled', async () => {
    const { host, calls } = fakeHost();
    const r = runner(host);
    expect(await r.run(command('c-7', 'queue.settle', { receipts: [IN_DOUBT], as: 'retry' }))).toMatchObject({ ok: false, error: { code: 'invalid_args', message: expect.stringContaining("'by'") } });
    expect(await r.run(command('c-8', 'queue.settle', { receipts: [PENDING], as: 'delivered', by: 'ops-alice' }))).toMatchObject({ ok: true, result: { results: [{ ok: false, error: 'not_unknown' }] } });
    expect(calls).toEqual([`settle ${PENDING} delivered ops-alice`]);
  });

    it('answers a failing gateway with an internal error, never a rejection', async () => {
    const { host } = fakeHost();
    expect(await runner(host).run(command('c-4', 'status'))).toEqual({ ok: false, error: { code: 'internal', message: 'journal worker exited' } });
  });

  it('recognises a command this gateway does not know', () => {
    expect(unknownCommand(JSON.stringify({ type: 'command', id: 'x-1', ts: 1, command: 'reboot', args: {} }))).toEqual({ id: 'x-1', command: 'reboot' });
    expect(unknownCommand(JSON.stringify({ type: 'command', id: 'x-1', ts: 1, command: 'status', args: 5 }))).toBeUndefined();
    expect(unknownCommand('{nope')).toBeUndefined();
  });
});
