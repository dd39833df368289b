// The scheduled journal backup: a copy of the running journal on a second
// disk (buffer.backup) at start and every everyMinutes, so a dead mini-PC disk
// loses at most that much of what was not sent. A backup that cannot be taken
// (the USB stick is out) never stops the store selling: it is logged, counted,
// shown in status, and tried again at the next turn.

export interface BackupSettings {
  path: string;
  everyMinutes: number;
}

export interface BackupStatus {
  path: string;
  everyMinutes: number;
  /** When the last backup to this path was completed (epoch ms), or null for none yet. */
  lastAt: number | null;
  /** Seconds since the last backup; with none yet, since backups to this path began (so a backup that never works still ages). */
  ageS: number;
  /** Why the last try failed; null once one succeeds. */
  lastError: string | null;
  failures: number;
}

export type BackupOutcome = { ok: true; path: string; ms: number } | { ok: false; path: string; error: string };

/** How often the schedule looks whether a backup is due: a reload's new settings apply within this. */
const TICK_MS = 15_000;

export class JournalBackupSchedule {
  readonly #settings: () => BackupSettings | undefined;
  readonly #backup: (file: string) => Promise<void>;
  readonly #report: (o: BackupOutcome) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** Of the current path: a new path starts its own record. */
  #path: string | undefined;
  #since = 0;
  #lastAt: number | null = null;
  #lastTryAt: number | null = null;
  #lastError: string | null = null;
  #failures = 0;

  /** `settings` is read at every tick (a reload applies at the next one); `backup` copies the journal to a file. */
  constructor(settings: () => BackupSettings | undefined, backup: (file: string) => Promise<void>, report: (o: BackupOutcome) => void, now = Date.now) {
    this.#settings = settings;
    this.#backup = backup;
    this.#report = report;
    this.#now = now;
  }

  start(): void {
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /** Stops the schedule and waits for a backup under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  status(): BackupStatus | undefined {
    const s = this.#settings();
    if (!s || s.path !== this.#path) return undefined;
    const from = this.#lastAt ?? this.#since;
    return { path: s.path, everyMinutes: s.everyMinutes, lastAt: this.#lastAt, ageS: Math.max(0, (this.#now() - from) / 1000), lastError: this.#lastError, failures: this.#failures };
  }

  /** Takes a backup now unless one is under way; resolves when it is done (the tests' and the first tick's way in). */
  runNow(): Promise<void> {
    const s = this.#settings();
    if (!s) return Promise.resolve();
    this.#follow(s.path);
    this.#running ??= this.#take(s.path).finally(() => (this.#running = undefined));
    return this.#running;
  }

  #follow(path: string): void {
    if (path === this.#path) return;
    this.#path = path;
    this.#since = this.#now();
    this.#lastAt = this.#lastTryAt = null;
    this.#lastError = null;
    this.#failures = 0;
  }

  #tick(): void {
    const s = this.#settings();
    if (!s) return;
    this.#follow(s.path);
    if (this.#lastTryAt === null || this.#now() - this.#lastTryAt >= s.everyMinutes * 60_000) void this.runNow();
  }

  async #take(path: string): Promise<void> {
    const started = this.#now();
    this.#lastTryAt = started;
    try {
      await this.#backup(path);
      // A reload moved the backup meanwhile: this copy says nothing of the new path's.
      if (path !== this.#path) return;
      this.#lastAt = this.#now();
      this.#lastError = null;
      this.#report({ ok: true, path, ms: this.#lastAt - started });
    } catch (e) {
      if (path !== this.#path) return;
      this.#lastError = (e as Error).message;
      this.#failures++;
      this.#report({ ok: false, path, error: this.#lastError });
    }
  }
}
