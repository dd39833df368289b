// Rollout states (table rollouts): each rollout's state as JSON, kept so that
// it can be read after it ended and so that one running when the hub stopped
// is marked interrupted at the next start.
import type Database from 'better-sqlite3';

export class RolloutStates {
  readonly #stmt;

  constructor(d: Database.Database) {
    this.#stmt = {
      save: d.prepare(
        `INSERT INTO rollouts (id, created_at, status, state) VALUES (@id, @createdAt, @status, @state)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, state = excluded.state`,
      ),
      get: d.prepare(`SELECT state FROM rollouts WHERE id = ?`),
      running: d.prepare(`SELECT id, created_at, state FROM rollouts WHERE status IN ('canary', 'rolling')`),
    };
  }

  save(r: { id: string; createdAt: number; status: string; state: unknown }): void {
    this.#stmt.save.run({ ...r, state: JSON.stringify(r.state) });
  }

  get(id: string): unknown {
    const row = this.#stmt.get.get(id) as { state: string } | undefined;
    return row && (JSON.parse(row.state) as unknown);
  }

  /** Rollouts that were running when the hub stopped, for it to mark as interrupted. */
  running(): { id: string; createdAt: number; state: unknown }[] {
    return (this.#stmt.running.all() as { id: string; created_at: number; state: string }[]).map((r) => ({ id: r.id, createdAt: r.created_at, state: JSON.parse(r.state) as unknown }));
  }
}
