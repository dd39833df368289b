// The gateway's fleet agent: one connection to the hub, over which it says
// hello, reports telemetry and events, and answers commands. What it takes
// while the hub is away waits in the spool and follows once it is back, oldest
// first and at a bounded pace. A hub that acknowledges what it committed (the
// `acks` feature) gets at-least-once delivery: what it has not acknowledged
// when the connection closes goes back to the spool and is sent again. Nothing
// here is on the proxy path: every step is asynchronous, buffers are bounded,
// and a slow hub only fills the spool.
import type { Logger } from 'pino';
import type { GatewayConfig } from '../../../edge-config/schema.js';
import {
  ACKS_FEATURE,
  MAX_FRAME_BYTES,
  message as stamp,
  parseHubMessage,
  type ErrorMessage,
  type EventMessage,
  type EventName,
  type HelloMessage,
  type ResultMessage,
  type TelemetryMessage,
} from '../protocol.js';
import { CommandRunner, unknownCommand } from './commands.js';
import { ConfigApplier } from './config-apply.js';
import { HubConnection, type ConnectionSettings } from './connection.js';
import { DrainWatch } from './drain-watch.js';
import { clipEntry, EntryEventLimit, type EntryFields, type EntryKind } from './entry-events.js';
import type { AgentHost } from './host.js';
import type { Outcome } from './outcome.js';
import { Spool, type SpooledMessage } from './spool.js';
import { pathTelemetry, QuotaWatch, RequestDeltas, telemetryBody } from './telemetry.js';
import { Unacked } from './unacked.js';
import { packageVersion } from './version.js';

export type FleetConfig = NonNullable<GatewayConfig['fleet']>;

/** Messages go out only while the socket holds less than this unsent; the rest waits in the spool. */
const SEND_BELOW_BYTES = 64 * 1024;
/** Spooled messages sent per tick after a reconnect: 50 a second, well inside what a hub takes from one gateway. */
const DRAIN_PER_TICK = 5;
const DRAIN_TICK_MS = 100;
/** Results waiting for a connection (a command answered after the one that brought it dropped). */
const MAX_PENDING_RESULTS = 100;
const MAX_ERROR_MESSAGE = 4096;
/** Sent messages waited for: a hub acks within a flush interval, so this is minutes of telemetry, or a drained spool's worth of seconds. */
const MAX_UNACKED = 1000;

export class FleetAgent {
  readonly #host: AgentHost;
  readonly #logger: Logger;
  /** The fleet section the agent started with: kept while a reload that removes it stops the agent. */
  readonly #started: FleetConfig;
  readonly spoolFile: string;
  readonly #spool: Spool;
  readonly #conn: HubConnection;
  readonly #applier: ConfigApplier;
  readonly #commands: CommandRunner;
  readonly #deltas = new RequestDeltas();
  readonly #quota = new QuotaWatch();
  readonly #entryLimit = new EntryEventLimit();
  readonly #drainWatch: DrainWatch;
  readonly #unacked = new Unacked<SpooledMessage>(MAX_UNACKED);
  readonly #unsubscribe: (() => void)[] = [];
  #stopped = false;
  /** Hello sent on the current connection: messages may go out directly. */
  #ready = false;
  /** The hub of the current connection acknowledges committed messages: what it has not is kept. */
  #acks = false;
  /** Counts connections, so a hello prepared for one that closed is not sent on the next. */
  #generation = 0;
  #pendingResults: string[] = [];
  #telemetryTimer: NodeJS.Timeout | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #journalFailing = false;
  /** Bad frames from the hub on this connection: the first is a warning, the rest debug lines. */
  #badFrames = 0;

  constructor(host: AgentHost, logger: Logger) {
    const loaded = host.config();
    const fleet = loaded.config.fleet;
    if (!fleet) throw new Error('the fleet agent needs a fleet section in the configuration');
    this.#host = host;
    this.#logger = logger;
    this.#started = fleet;
    this.spoolFile = fleet.spoolPath;
    this.#spool = Spool.open(this.spoolFile, () => ({ maxEntries: this.#fleet().spoolMaxEntries, maxBytes: this.#fleet().spoolMaxBytes }), logger);
    this.#conn = new HubConnection(
      () => this.#connectionSettings(),
      [ACKS_FEATURE],
      { open: (offered) => this.#opened(offered(ACKS_FEATURE)), frame: (f) => this.#frame(f), closed: () => this.#closed() },
      logger,
    );
    this.#applier = new ConfigApplier({ host, logger, event: (name, details) => this.#event(name, details), defaultGraceMs: () => this.#fleet().configGraceMs });
    this.#commands = new CommandRunner({ host, config: this.#applier, logger });
    this.#drainWatch = new DrainWatch({
      pending: async () => (await host.status()).queue.pending,
      report: () => void this.#sample().catch((e: Error) => this.#logger.error({ err: e }, 'cannot take telemetry')),
    });
  }

  async start(): Promise<void> {
    // Subscribed before anything is awaited: the gateway applies the fleet section before its
    // first housekeeping pass, so what that pass finds (entries that expired while the gateway
    // was off) reaches the spool. A stop() meanwhile unsubscribes these.
    this.#unsubscribe.push(
      this.#host.onLinkChange((change) => this.#event('link.state', { ...change })),
      this.#host.onDeadLetter((dead) => this.#entryEvent('dead_letter', dead)),
      // Spooled like dead letters: an operator must hear of it even after an outage.
      this.#host.onUnknownOutcome((unknown) => this.#entryEvent('unknown_outcome', unknown)),
      // One per housekeeping pass, however many entries it expired.
      this.#host.onExpired((expired) => this.#event('journal.expired', { ...expired })),
      this.#host.onExpiryWarning(({ kind, ...details }) => this.#event(kind === 'raised' ? 'journal.near_expiry' : 'journal.near_expiry_cleared', details)),
    );
    // Requests before the agent started are not "since the last telemetry".
    this.#deltas.mark(await this.#host.requestCounts());
    if (this.#stopped) return;
    this.#conn.start();
    this.#scheduleTelemetry();
  }

  /** Dials again at once: the hub's address or the token changed. */
  redial(): void {
    this.#conn.redial();
  }

  async stop(): Promise<void> {
    // Counted dead letters and unknown outcomes go to the spool, not away with the process.
    this.#summaries(Date.now(), true);
    this.#stopped = true;
    for (const u of this.#unsubscribe.splice(0)) u();
    clearTimeout(this.#telemetryTimer);
    clearInterval(this.#drainTimer);
    this.#drainWatch.stop();
    await this.#applier.abort();
    await this.#conn.stop();
    this.#spool.close();
  }

  #fleet(): FleetConfig {
    return this.#host.config().config.fleet ?? this.#started;
  }

  #connectionSettings(): ConnectionSettings {
    const f = this.#fleet();
    return { url: f.hubUrl, tokenFile: f.tokenFile, heartbeatIntervalMs: f.heartbeatIntervalMs, reconnect: f.reconnect };
  }

  #opened(acks: boolean): void {
    const generation = ++this.#generation;
    this.#badFrames = 0;
    this.#acks = acks;
    this.#hello()
      .then((hello) => {
        if (generation !== this.#generation || this.#stopped || !this.#conn.send(JSON.stringify(hello))) return;
        this.#ready = true;
        for (const result of this.#pendingResults.splice(0)) this.#conn.send(result);
        clearInterval(this.#drainTimer);
        this.#drainTimer = setInterval(() => this.#drain(), DRAIN_TICK_MS);
        this.#drainTimer.unref();
        // The hub shares a region's drain budget by backlog: it hears this one's at once, not a telemetry interval later.
        this.#sample().catch((e: Error) => this.#logger.error({ err: e }, 'cannot take telemetry'));
      })
      .catch((e: Error) => this.#logger.error({ err: e }, 'cannot say hello to the fleet hub'));
  }

  #closed(): void {
    this.#generation++;
    this.#ready = false;
    this.#acks = false;
    clearInterval(this.#drainTimer);
    // Not acknowledged: perhaps in a batch the hub never committed. Sent again on the next connection (to the spool even
    // while stopping: the spool outlives the process).
    for (const m of this.#unacked.takeAll()) this.#spool.append(m);
  }

  async #hello(): Promise<HelloMessage> {
    const { config, version } = this.#host.config();
    // A journal that cannot answer must not keep the gateway from saying hello.
    const status = await this.#host.status().catch(() => undefined);
    return stamp<HelloMessage>({
      type: 'hello',
      store: { id: config.store.id, region: config.store.region, tags: config.store.tags },
      version: packageVersion(),
      configVersion: status?.configVersion ?? version,
      paths: status?.paths.map(pathTelemetry) ?? [],
    });
  }

  #scheduleTelemetry(): void {
    this.#telemetryTimer = setTimeout(() => {
      this.#sample()
        .catch((e: Error) => this.#logger.error({ err: e }, 'cannot take telemetry'))
        .finally(() => {
          if (!this.#stopped) this.#scheduleTelemetry();
        });
    }, this.#fleet().telemetryIntervalMs);
    this.#telemetryTimer.unref();
  }

  async #sample(): Promise<void> {
    let status;
    try {
      status = await this.#host.status();
      this.#journalFailing = false;
    } catch (e) {
      if (!this.#journalFailing) this.#event('journal.error', { error: (e as Error).message });
      this.#journalFailing = true;
      return;
    }
    this.#summaries(Date.now());
    const requests = this.#deltas.take(await this.#host.requestCounts());
    this.#emit(stamp<TelemetryMessage>(telemetryBody(status, requests)));
    const { bytes, maxBytes } = status.queue;
    if (this.#quota.crossed(bytes, maxBytes)) this.#event('quota.pressure', { bytes, maxBytes, pct: Math.round((bytes / maxBytes) * 100) });
  }

  /** A dead letter or unknown outcome: its own event, or counted into a summary once a burst passes the limit. */
  #entryEvent(kind: EntryKind, entry: EntryFields): void {
    const now = Date.now();
    this.#summaries(now);
    const clipped = clipEntry(entry);
    if (this.#entryLimit.take(kind, clipped, now)) this.#event(kind, { ...clipped });
  }

  /** Summaries of bursts whose minute is over (`all`: every one, the agent stops). */
  #summaries(now: number, all = false): void {
    for (const { kind, summary } of this.#entryLimit.due(now, all)) this.#event(`${kind}.summary`, { ...summary });
  }

  #event(event: EventName, details: Record<string, unknown>): void {
    this.#emit(stamp<EventMessage>({ type: 'event', event, details }));
  }

  /** Telemetry and events: to the hub when it can take them now, else to the spool. */
  #emit(m: SpooledMessage): void {
    if (this.#stopped) return;
    if (this.#ready && this.#conn.bufferedAmount < SEND_BELOW_BYTES) this.#send(m, false);
    else this.#spool.append(m);
  }

  #send(m: SpooledMessage, spooled: boolean): void {
    const acks = this.#acks;
    const sent = this.#conn.send(JSON.stringify(spooled ? { ...m, spooled: true } : m), (error) => {
      // Never reached the socket: kept for the next connection (once: unless the close already gave it back).
      if (error && !this.#stopped && (!acks || this.#unacked.forget(m.id))) this.#spool.append(m);
    });
    if (!sent) return this.#spool.append(m);
    // Past the bound, the oldest go back to the spool: sent again later, which the hub takes as a repeat.
    if (acks) for (const over of this.#unacked.sent(m)) this.#spool.append(over);
  }

  /** Sends the spool's oldest few while the connection keeps up; live messages go alongside. */
  #drain(): void {
    if (!this.#ready || this.#conn.bufferedAmount >= SEND_BELOW_BYTES) return;
    for (const m of this.#spool.take(DRAIN_PER_TICK)) this.#send(m, true);
  }

  #frame(frame: Buffer): void {
    const parsed = parseHubMessage(frame);
    if (!parsed.ok) {
      const unknown = parsed.error.code === 'invalid' ? unknownCommand(frame) : undefined;
      if (unknown) return this.#result(unknown.id, { ok: false, error: { code: 'unknown_command', message: `this gateway does not know the command ${JSON.stringify(unknown.command)}` } });
      this.#badFrame(parsed.error.code, parsed.error.message);
      this.#conn.send(JSON.stringify(stamp<ErrorMessage>({ type: 'error', ...(parsed.error.re !== undefined && { re: parsed.error.re }), error: { code: parsed.error.code, message: parsed.error.message.slice(0, MAX_ERROR_MESSAGE) } })));
      return;
    }
    const m = parsed.message;
    if (m.type === 'error') {
      // Never answered: two sides answering each other's errors would never stop.
      this.#logger.warn({ re: m.re, code: m.error.code, error: m.error.message }, 'the fleet hub refused a message from this gateway');
      return;
    }
    if (m.type === 'ack') {
      this.#unacked.acked(m.ids);
      return;
    }
    if (m.type === 'drain.grant') {
      this.#host.replay.grant(m.ratePerSec, m.leaseMs);
      this.#drainWatch.granted(m.leaseMs);
      this.#logger.debug({ ratePerSec: m.ratePerSec, leaseMs: m.leaseMs }, 'drain grant from the fleet hub');
      return;
    }
    void this.#commands.run(m).then((outcome) => this.#result(m.id, outcome));
  }

  #badFrame(code: string, error: string): void {
    const fields = { code, error, badFrames: ++this.#badFrames };
    if (this.#badFrames === 1) this.#logger.warn(fields, 'the fleet hub sent a frame this gateway cannot take; answered with an error');
    else this.#logger.debug(fields, 'the fleet hub sent another frame this gateway cannot take');
  }

  #result(re: string, outcome: Outcome): void {
    let text = JSON.stringify(stamp<ResultMessage>({ type: 'result', re, ...clip(outcome) }));
    if (Buffer.byteLength(text) > MAX_FRAME_BYTES) {
      text = JSON.stringify(stamp<ResultMessage>({ type: 'result', re, ok: false, error: { code: 'too_large', message: `the result exceeds ${MAX_FRAME_BYTES} bytes; ask for less (queue.list limit)` } }));
    }
    if (this.#ready && this.#conn.send(text)) return;
    this.#pendingResults.push(text);
    if (this.#pendingResults.length > MAX_PENDING_RESULTS) this.#pendingResults.shift();
  }
}

/** The protocol bounds an error's code and message. */
function clip(o: Outcome): Outcome {
  return o.ok ? o : { ok: false, error: { code: o.error.code.slice(0, 64), message: o.error.message.slice(0, MAX_ERROR_MESSAGE) } };
}
