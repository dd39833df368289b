// The simulated ERP's committed writes, one entry per record a call created or
// wrote, in commit order. It decides nothing: the models (pos-orders, barcode,
// odoo-model) say what a call commits and whether it repeated something the
// ERP already had; the ledger keeps the record for tests to read.
import type { OdooError } from './odoo-rpc.js';

export interface SimOrder {
  /** Commit order, from 1. */
  seq: number;
  /** The request's Idempotency-Key header, kept for tests to find a request by; Odoo itself ignores it. */
  key: string | null;
  /** The client's own id for the record: 18/19 order uuid, 16/17 order data.uid, stock_barcode's dummy_id; null when there is none. */
  uuid: string | null;
  /** The POS order's pos_reference (18/19 pos_reference, 16/17 data.name); null for other models. */
  posReference: string | null;
  model: string;
  method: string;
  /** The id of the record created or written, as the ERP answers it; null when the call names none. */
  recordId: number | null;
  /** The request's X-Device-Id header. */
  device: string | null;
  /** When the request reached the simulator (epoch ms), before any simulated delay or queueing. */
  receivedAt: number;
  /** The whole request body; the records of one call share it. */
  body: unknown;
}

/** What one call commits for one record; the ledger adds the request's details. */
export type Commit = Pick<SimOrder, 'uuid' | 'posReference' | 'model' | 'method' | 'recordId'>;

/**
 * What serving one call came to: its JSON-RPC result, what it committed and
 * whether it carried something the ERP already had; or the error it raised,
 * in which case it committed nothing.
 */
export type Outcome = { ok: true; result: unknown; commits: Commit[]; repeated: boolean } | { ok: false; error: OdooError };

/** The request a call came in, as the ledger records it. */
export type RequestInfo = Pick<SimOrder, 'key' | 'device' | 'receivedAt' | 'body'>;

export class Ledger {
  #commits: SimOrder[] = [];
  #duplicates = 0;

  record(request: RequestInfo, commits: readonly Commit[]): void {
    for (const c of commits) this.#commits.push({ seq: this.#commits.length + 1, key: request.key, ...c, device: request.device, receivedAt: request.receivedAt, body: request.body });
  }

  /** Notes a write request answered at least partly from what the ERP already had. */
  countDuplicate(): void {
    this.#duplicates++;
  }

  commits(): SimOrder[] {
    return [...this.#commits];
  }

  duplicates(): number {
    return this.#duplicates;
  }

  count(): number {
    return this.#commits.length;
  }

  reset(): void {
    this.#commits = [];
    this.#duplicates = 0;
  }
}
