// Rollout states (table rollouts): each rollout's state as JSON, kept so that
// it can be read after it ended and so that one running when the hub stopped
// is marked interrupted at the next start.
import type { Sql } from './sql/database.js';

export class RolloutStates {
  constructor(private readonly sql: Sql) {}

  async save(r: { id: string; createdAt: number; status: string; state: unknown }): Promise<void> {
    await this.sql.run(
      `INSERT INTO rollouts (id, created_at, status, state) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, state = excluded.state`,
      [r.id, r.createdAt, r.status, JSON.stringify(r.state)],
    );
  }

  async get(id: string): Promise<unknown> {
    const row = await this.sql.get<{ state: string }>(`SELECT state FROM rollouts WHERE id = ?`, [id]);
    return row && (JSON.parse(row.state) as unknown);
  }

  /** Rollouts that were running when the hub stopped, for it to mark as interrupted. */
  async running(): Promise<{ id: string; createdAt: number; state: unknown }[]> {
    const rows = await this.sql.all<{ id: string; created_at: number; state: string }>(`SELECT id, created_at, state FROM rollouts WHERE status IN ('canary', 'rolling')`);
    return rows.map((r) => ({ id: r.id, createdAt: r.created_at, state: JSON.parse(r.state) as unknown }));
  }
}
