// Rollout states (table rollouts): each rollout's state as JSON, kept so that
// it can be read after it ended, and so that one running when its hub replica
// stopped is taken over by another, or marked interrupted.
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

  /**
   * Stores a new rollout as the one running. False when another runs: the
   * index rollouts_running admits one running row, so of two replicas
   * starting one at the same moment, one stores its own.
   */
  async begin(r: { id: string; createdAt: number; status: string; state: unknown }): Promise<boolean> {
    return (await this.sql.run(`INSERT INTO rollouts (id, created_at, status, state) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, [r.id, r.createdAt, r.status, JSON.stringify(r.state)])) === 1;
  }

  async get(id: string): Promise<unknown> {
    const row = await this.sql.get<{ state: string }>(`SELECT state FROM rollouts WHERE id = ?`, [id]);
    return row && (JSON.parse(row.state) as unknown);
  }

  /** Running rollouts, with their state's text as stored (claim() compares it). */
  async running(): Promise<{ id: string; createdAt: number; state: unknown; text: string }[]> {
    const rows = await this.sql.all<{ id: string; created_at: number; state: string }>(`SELECT id, created_at, state FROM rollouts WHERE status IN ('canary', 'rolling')`);
    return rows.map((r) => ({ id: r.id, createdAt: r.created_at, state: JSON.parse(r.state) as unknown, text: r.state }));
  }

  /**
   * Replaces the rollout's state only if it is still `text`: of two hub
   * replicas taking over one rollout, one wins. True for the winner.
   */
  async claim(id: string, text: string, r: { status: string; state: unknown }): Promise<boolean> {
    return (await this.sql.run(`UPDATE rollouts SET status = ?, state = ? WHERE id = ? AND state = ?`, [r.status, JSON.stringify(r.state), id, text])) === 1;
  }
}
