// Desired configs (table desired): per gateway, the config an operator or a
// rollout set, who set it, and how applying it went.
import type { Sql } from './sql/database.js';

export type ApplyStatus = 'pending' | 'sent' | 'applied' | 'failed';

export interface DesiredRecord {
  gatewayId: string;
  yaml: string;
  version: string;
  setBy: string;
  setAt: number;
  applyStatus: ApplyStatus;
  applyError: string | null;
  applyAt: number | null;
}

interface DesiredRow {
  gateway_id: string;
  yaml: string;
  version: string;
  set_by: string;
  set_at: number;
  apply_status: ApplyStatus;
  apply_error: string | null;
  apply_at: number | null;
}

const desiredRecord = (r: DesiredRow): DesiredRecord => ({
  gatewayId: r.gateway_id,
  yaml: r.yaml,
  version: r.version,
  setBy: r.set_by,
  setAt: r.set_at,
  applyStatus: r.apply_status,
  applyError: r.apply_error,
  applyAt: r.apply_at,
});

export class DesiredConfigs {
  constructor(private readonly sql: Sql) {}

  async get(id: string): Promise<DesiredRecord | undefined> {
    const row = await this.sql.get<DesiredRow>(`SELECT * FROM desired WHERE gateway_id = ?`, [id]);
    return row && desiredRecord(row);
  }

  async all(): Promise<DesiredRecord[]> {
    return (await this.sql.all<DesiredRow>(`SELECT * FROM desired`)).map(desiredRecord);
  }

  /** Sets a gateway's desired config, not applied yet. */
  async set(d: { gatewayId: string; yaml: string; version: string; setBy: string; setAt: number }): Promise<void> {
    await this.sql.run(
      `INSERT INTO desired (gateway_id, yaml, version, set_by, set_at, apply_status, apply_error, apply_at)
       VALUES (?, ?, ?, ?, ?, 'pending', NULL, NULL)
       ON CONFLICT (gateway_id) DO UPDATE SET yaml = excluded.yaml, version = excluded.version, set_by = excluded.set_by,
         set_at = excluded.set_at, apply_status = 'pending', apply_error = NULL, apply_at = NULL`,
      [d.gatewayId, d.yaml, d.version, d.setBy, d.setAt],
    );
  }

  async clear(id: string): Promise<void> {
    await this.sql.run(`DELETE FROM desired WHERE gateway_id = ?`, [id]);
  }

  /** Records how applying `version` went; ignored when the desired config has changed since. */
  async setApplyStatus(gatewayId: string, version: string, status: ApplyStatus, error: string | null, at: number): Promise<void> {
    await this.sql.run(`UPDATE desired SET apply_status = ?, apply_error = ?, apply_at = ? WHERE gateway_id = ? AND version = ?`, [status, error, at, gatewayId, version]);
  }
}
