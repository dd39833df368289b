// The simulated ERP's committed writes. It honours idempotency the way an ERP
// that is safe to retry against does: a write whose Idempotency-Key, or POS
// order whose uuid, was already committed is answered from memory instead of
// being committed twice.
import { posOrderUuids, type OdooCall } from './odoo-rpc.js';

export interface SimOrder {
  /** Commit order, from 1; also the record id the ERP answers with. */
  seq: number;
  key: string | null;
  uuid: string | null;
  model: string;
  method: string;
  device: string | null;
  /** When the request reached the simulator (epoch ms), before any simulated delay or queueing. */
  receivedAt: number;
  /** The whole JSON-RPC request body; the orders of one batch share it. */
  body: unknown;
}

export interface Write {
  call: OdooCall;
  key: string | null;
  device: string | null;
  receivedAt: number;
  body: unknown;
}

export class Ledger {
  #commits: SimOrder[] = [];
  #byKey = new Map<string, unknown>();
  #byUuid = new Map<string, { id: number; uuid: string }>();
  #duplicates = 0;

  /** Commits what is new in `w` and returns the JSON-RPC result to answer with. */
  write(w: Write): unknown {
    if (w.key !== null && this.#byKey.has(w.key)) {
      this.#duplicates++;
      return this.#byKey.get(w.key);
    }
    const uuids = posOrderUuids(w.call);
    let result: unknown;
    if (uuids === undefined) {
      const seq = this.#record(w, null);
      result = w.call.method === 'create' ? seq : true;
    } else {
      // Like Odoo's sync_from_ui, a batch commits its new orders and reports the ones it already has.
      let repeated = false;
      result = uuids.map((uuid) => {
        const earlier = uuid === null ? undefined : this.#byUuid.get(uuid);
        if (earlier) {
          repeated = true;
          return earlier;
        }
        const answer = { id: this.#record(w, uuid), uuid };
        if (uuid !== null) this.#byUuid.set(uuid, { id: answer.id, uuid });
        return answer;
      });
      if (repeated) this.#duplicates++;
    }
    if (w.key !== null) this.#byKey.set(w.key, result);
    return result;
  }

  commits(): SimOrder[] {
    return [...this.#commits];
  }

  /** Write requests answered at least partly from memory. */
  duplicates(): number {
    return this.#duplicates;
  }

  count(): number {
    return this.#commits.length;
  }

  reset(): void {
    this.#commits = [];
    this.#byKey.clear();
    this.#byUuid.clear();
    this.#duplicates = 0;
  }

  #record(w: Write, uuid: string | null): number {
    const seq = this.#commits.length + 1;
    this.#commits.push({ seq, key: w.key, uuid, model: w.call.model, method: w.call.method, device: w.device, receivedAt: w.receivedAt, body: w.body });
    return seq;
  }
}
