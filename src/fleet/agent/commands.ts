// Commands from the hub, each acted on once per message id: a hub that sends
// the same command again (a retry after a lost result, a replayed rollout step)
// gets the first result again, and the gateway does not act twice.
import type { Logger } from 'pino';
import { COMMANDS, parseCommandArgs, type CommandArgs, type CommandMessage, type CommandName } from '../protocol.js';
import type { ConfigApplier } from './config-apply.js';
import type { AgentHost } from './host.js';
import type { Outcome } from './outcome.js';

/** Remembers the outcomes of the last `capacity` command ids. Pure. */
export class CommandMemo {
  readonly #outcomes = new Map<string, Promise<Outcome>>();

  constructor(readonly capacity = 1000) {}

  /** The outcome of `id`: acted on now if new, else the remembered one (still pending if it is still running). */
  run(id: string, act: () => Promise<Outcome>): { outcome: Promise<Outcome>; repeated: boolean } {
    const known = this.#outcomes.get(id);
    if (known) return { outcome: known, repeated: true };
    const outcome = act();
    this.#outcomes.set(id, outcome);
    // Oldest first: a Map iterates in insertion order.
    for (const oldest of this.#outcomes.keys()) {
      if (this.#outcomes.size <= this.capacity) break;
      this.#outcomes.delete(oldest);
    }
    return { outcome, repeated: false };
  }
}

/** The id of a command frame that names a command this gateway does not know (the protocol refuses it as invalid). */
export function unknownCommand(frame: Buffer | string): { id: string; command: string } | undefined {
  try {
    const m = JSON.parse(typeof frame === 'string' ? frame : frame.toString('utf8')) as Record<string, unknown>;
    if (m?.type !== 'command' || typeof m.command !== 'string' || (COMMANDS as readonly string[]).includes(m.command)) return undefined;
    return typeof m.id === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(m.id) ? { id: m.id, command: m.command.slice(0, 64) } : undefined;
  } catch {
    return undefined;
  }
}

const ok = (result: unknown): Outcome => ({ ok: true, result });
const fail = (code: string, message: string): Outcome => ({ ok: false, error: { code, message } });

export interface CommandDeps {
  host: AgentHost;
  config: Pick<ConfigApplier, 'apply'>;
  logger: Logger;
}

type Handlers = { [C in CommandName]: (args: CommandArgs[C]) => Promise<Outcome> };

export class CommandRunner {
  readonly #memo = new CommandMemo();
  readonly #d: CommandDeps;
  readonly #handlers: Handlers;

  constructor(deps: CommandDeps) {
    this.#d = deps;
    const { host, logger } = deps;
    this.#handlers = {
      'config.apply': (args) => deps.config.apply(args),
      'replay.setRate': async ({ ratePerSec }) => {
        host.replay.setRate(ratePerSec);
        logger.info({ ratePerSec }, 'replay drain rate set by the fleet hub');
        return ok(host.replay.status());
      },
      'replay.pause': async () => {
        host.replay.pause();
        logger.info('replay paused by the fleet hub');
        return ok(host.replay.status());
      },
      'replay.resume': async () => {
        host.replay.resume();
        logger.info('replay resumed by the fleet hub');
        return ok(host.replay.status());
      },
      'queue.list': async ({ state = 'pending', limit = 100, after = 0 }) => {
        const entries = await host.journal.list(state, limit, after);
        return ok({ state, entries, ...(entries.length === limit && { next: entries.at(-1)!.seq }) });
      },
      'queue.retry': async ({ receipts }) => {
        const results = await this.#each(receipts, (r) => host.journal.retryDead(r), 'pending', 'not_dead');
        const retried = results.filter((r) => r.ok).map((r) => r.receipt);
        if (retried.length > 0) {
          host.replay.wake();
          logger.info({ receipts: retried }, 'dead letters put back in the queue by the fleet hub');
        }
        return ok({ results });
      },
      'queue.discard': async ({ receipts }) => {
        const results = await this.#each(receipts, (r) => host.journal.discard(r), 'discarded', 'not_dead');
        const discarded = results.filter((r) => r.ok).map((r) => r.receipt);
        if (discarded.length > 0) logger.warn({ receipts: discarded }, 'dead letters discarded by the fleet hub');
        return ok({ results });
      },
      'queue.settle': async ({ receipts, as, by }) => {
        const results = await this.#each(receipts, (r) => host.journal.settle(r, as, by), as === 'retry' ? 'pending' : 'delivered', 'not_unknown');
        const settled = results.filter((r) => r.ok).map((r) => r.receipt);
        if (settled.length > 0) {
          // Also after "delivered": an unknown entry holds back the entries queued behind it under its ordering key.
          host.replay.wake();
          logger.warn({ receipts: settled, as, by }, 'unknown outcomes settled by the fleet hub');
        }
        return ok({ results });
      },
      status: async () => ok(await host.status()),
    };
  }

  /** The command's outcome; a repeated id is answered from memory. Never rejects. */
  run(cmd: CommandMessage): Promise<Outcome> {
    const { outcome, repeated } = this.#memo.run(cmd.id, () => this.#act(cmd));
    this.#d.logger.info({ id: cmd.id, command: cmd.command, ...(repeated && { repeated }) }, repeated ? 'repeated command from the fleet hub: answering the first result' : 'command from the fleet hub');
    return outcome;
  }

  async #act(cmd: CommandMessage): Promise<Outcome> {
    const parsed = parseCommandArgs(cmd.command, cmd.args);
    if (!parsed.ok) return fail('invalid_args', parsed.message);
    try {
      return await (this.#handlers[cmd.command] as (args: unknown) => Promise<Outcome>)(parsed.args);
    } catch (e) {
      this.#d.logger.error({ id: cmd.id, command: cmd.command, err: e }, 'command from the fleet hub failed');
      return fail('internal', (e as Error).message);
    }
  }

  /** Applies `act` to each entry; one it does not apply to says why (`refusal`: not in the state it acts on; or unknown_receipt). */
  async #each(receipts: string[], act: (receipt: string) => Promise<boolean>, done: 'pending' | 'discarded' | 'delivered', refusal: 'not_dead' | 'not_unknown') {
    const results: { receipt: string; ok: boolean; state?: string; error?: string }[] = [];
    for (const receipt of receipts) {
      if (await act(receipt)) {
        results.push({ receipt, ok: true, state: done });
        continue;
      }
      const entry = await this.#d.host.journal.byReceipt(receipt);
      results.push(entry ? { receipt, ok: false, state: entry.state, error: refusal } : { receipt, ok: false, error: 'unknown_receipt' });
    }
    return results;
  }
}
