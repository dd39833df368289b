// config.apply: a configuration pushed by the hub is validated as the loader
// would, written over the running file (the running text kept beside it as
// `<file>.previous`), reloaded, and watched for a grace period. If the reload
// fails, a path that was UP goes DOWN, or the journal fails, the previous file
// is put back and reloaded, and the hub is told which check failed.
import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ConfigError } from '../../../edge-config/errors.js';
import { parseGatewayConfig, type LoadedConfig } from '../../../edge-config/load.js';
import type { CommandArgs, EventName } from '../protocol.js';
import type { AgentHost } from './host.js';
import { outcomeTotal, upPaths, verdict, type HealthSample, type Verdict } from './health.js';
import type { Outcome } from './outcome.js';

/** How often the health of a new configuration is sampled during its grace period. */
const HEALTH_POLL_MS = 250;

export interface ApplyDeps {
  host: AgentHost;
  logger: Logger;
  event(name: EventName, details: Record<string, unknown>): void;
  /** fleet.configGraceMs, for a command that names no graceMs. */
  defaultGraceMs(): number;
}

/** Writes `text` to `file` so that a crash leaves the old or the new file, never half of one. */
function writeAtomically(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // Never created, or already renamed.
    }
    throw e;
  }
}

/**
 * Settings a pushed configuration may not change: those only a restart
 * applies, and the agent's own line to the hub (a wrong hubUrl or token would
 * cut the gateway off from the fleet that could fix it).
 */
function refusal(host: AgentHost, current: LoadedConfig, next: LoadedConfig): Outcome | undefined {
  const restart = host.restartNeeded(next);
  if (restart.length > 0) return fail('restart_needed', `these settings only apply on a restart and must stay as they are: ${restart.join(', ')}`);
  const a = current.config.fleet;
  const b = next.config.fleet;
  const fleet = !b ? ['fleet'] : (['hubUrl', 'tokenFile', 'spoolPath'] as const).filter((k) => a?.[k] !== b[k]).map((k) => `fleet.${k}`);
  if (a && fleet.length > 0) return fail('fleet_connection', `the agent's connection to the hub is changed only locally: ${fleet.join(', ')}`);
  return undefined;
}

const fail = (code: string, message: string): Outcome => ({ ok: false, error: { code, message } });

export class ConfigApplier {
  readonly #d: ApplyDeps;
  #running: Promise<Outcome> | undefined;
  readonly #abort = new AbortController();

  constructor(deps: ApplyDeps) {
    this.#d = deps;
  }

  /**
   * Ends a grace period under way, as the gateway shuts down: the unconfirmed
   * file is put back (not reloaded), so the next start runs the configuration
   * that was known to work.
   */
  async abort(): Promise<void> {
    this.#abort.abort();
    await this.#running?.catch(() => undefined);
  }

  async apply(args: CommandArgs['config.apply']): Promise<Outcome> {
    if (this.#running) return fail('busy', 'another config.apply is in its grace period');
    if (this.#abort.signal.aborted) return fail('aborted', 'the gateway is shutting down');
    const running = this.#apply(args).finally(() => (this.#running = undefined));
    this.#running = running;
    return running;
  }

  async #apply(args: CommandArgs['config.apply']): Promise<Outcome> {
    const { host, logger } = this.#d;
    const current = host.config();
    const file = current.file;
    let next: LoadedConfig;
    try {
      // Named as the running file: relative paths resolve against its folder, as they will once it is there.
      next = parseGatewayConfig(args.yaml, file);
    } catch (e) {
      if (e instanceof ConfigError) return fail('invalid_config', e.message);
      throw e;
    }
    if (next.version === current.version) return { ok: true, result: { version: current.version, unchanged: true } };
    const refused = refusal(host, current, next);
    if (refused) return refused;

    const wasUp = upPaths(await host.status());
    const journalErrorsBefore = outcomeTotal(await host.requestCounts(), 'journal_error');
    const mode = statSync(file).mode & 0o777;
    try {
      writeAtomically(`${file}.previous`, current.text, mode);
      writeAtomically(file, next.text, mode);
    } catch (e) {
      return fail('write_failed', `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    logger.info({ version: next.version, previous: current.version, file }, 'configuration from the hub written; reloading');

    const reloaded = host.reload();
    let outcome: Verdict;
    if (!reloaded.ok) outcome = { healthy: false, check: 'reload', reason: `reload failed: ${reloaded.error}` };
    else outcome = await this.#watch(wasUp, journalErrorsBefore, args.graceMs ?? this.#d.defaultGraceMs());

    if (this.#abort.signal.aborted) {
      this.#restore(file, current, mode);
      return fail('aborted', 'the gateway shut down during the grace period; the previous configuration file was put back');
    }
    if (!outcome.healthy) return this.#rollBack(file, current, next, mode, outcome);
    this.#d.event('config.applied', { version: next.version, previousVersion: current.version });
    logger.info({ version: next.version, previous: current.version }, 'configuration from the hub applied and healthy');
    return { ok: true, result: { version: next.version, previousVersion: current.version } };
  }

  /** Samples health until the grace period ends or a check fails. */
  async #watch(wasUp: readonly string[], journalErrorsBefore: number, graceMs: number): Promise<Verdict> {
    const deadline = Date.now() + graceMs;
    for (;;) {
      const result = verdict(wasUp, await this.#sample(journalErrorsBefore));
      const left = deadline - Date.now();
      if (!result.healthy || left <= 0 || this.#abort.signal.aborted) return result;
      await sleep(Math.min(HEALTH_POLL_MS, left), undefined, { signal: this.#abort.signal }).catch(() => undefined);
    }
  }

  async #sample(journalErrorsBefore: number): Promise<HealthSample> {
    try {
      const status = await this.#d.host.status();
      return { ok: true, status, journalErrors: outcomeTotal(await this.#d.host.requestCounts(), 'journal_error') - journalErrorsBefore };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }

  #rollBack(file: string, current: LoadedConfig, next: LoadedConfig, mode: number, failed: Extract<Verdict, { healthy: false }>): Outcome {
    const { host, logger } = this.#d;
    logger.error({ version: next.version, check: failed.check, reason: failed.reason }, 'configuration from the hub failed its health check; rolling back');
    const restored = this.#restore(file, current, mode);
    const reloaded = restored ? host.reload() : { ok: false as const, error: 'the previous file could not be written back' };
    if (!reloaded.ok) logger.error({ error: reloaded.error, file }, 'rollback incomplete: the previous configuration could not be reloaded');
    this.#d.event('config.rolled_back', {
      version: next.version,
      restoredVersion: current.version,
      check: failed.check,
      reason: failed.reason,
      ...(!reloaded.ok && { rollbackError: reloaded.error }),
    });
    return fail('rolled_back', `${failed.check}: ${failed.reason}`);
  }

  /** Puts the running text back over the file, from the backup's copy in memory. */
  #restore(file: string, current: LoadedConfig, mode: number): boolean {
    try {
      writeAtomically(file, current.text, mode);
      return true;
    } catch (e) {
      this.#d.logger.error({ file, err: e }, `cannot restore the configuration file; the previous one is in ${file}.previous`);
      return false;
    }
  }
}
