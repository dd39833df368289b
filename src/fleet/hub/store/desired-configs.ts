// Desired configs (table desired): per gateway, the config an operator or a
// rollout set, who set it, and how applying it went.
import type Database from 'better-sqlite3';

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
  readonly #stmt;

  constructor(d: Database.Database) {
    this.#stmt = {
      get: d.prepare(`SELECT * FROM desired WHERE gateway_id = ?`),
      all: d.prepare(`SELECT * FROM desired`),
      set: d.prepare(
        `INSERT INTO desired (gateway_id, yaml, version, set_by, set_at, apply_status, apply_error, apply_at)
         VALUES (@gatewayId, @yaml, @version, @setBy, @setAt, 'pending', NULL, NULL)
         ON CONFLICT (gateway_id) DO UPDATE SET yaml = excluded.yaml, version = excluded.version, set_by = excluded.set_by,
           set_at = excluded.set_at, apply_status = 'pending', apply_error = NULL, apply_at = NULL`,
      ),
      clear: d.prepare(`DELETE FROM desired WHERE gateway_id = ?`),
      applyStatus: d.prepare(`UPDATE desired SET apply_status = @status, apply_error = @error, apply_at = @at WHERE gateway_id = @gatewayId AND version = @version`),
    };
  }

  get(id: string): DesiredRecord | undefined {
    const row = this.#stmt.get.get(id) as DesiredRow | undefined;
    return row && desiredRecord(row);
  }

  all(): DesiredRecord[] {
    return (this.#stmt.all.all() as DesiredRow[]).map(desiredRecord);
  }

  /** Sets a gateway's desired config, not applied yet. */
  set(d: { gatewayId: string; yaml: string; version: string; setBy: string; setAt: number }): void {
    this.#stmt.set.run(d);
  }

  clear(id: string): void {
    this.#stmt.clear.run(id);
  }

  /** Records how applying `version` went; ignored when the desired config has changed since. */
  setApplyStatus(gatewayId: string, version: string, status: ApplyStatus, error: string | null, at: number): void {
    this.#stmt.applyStatus.run({ gatewayId, version, status, error, at });
  }
}
