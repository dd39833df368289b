// What the simulated Odoo does with one call_kw / execute_kw call, by model
// and method, for the release it plays. Pure: the simulator records what it
// commits and turns the outcome into an answer.
import { Barcode } from './barcode.js';
import type { Outcome } from './ledger.js';
import { isRead, missingMethod, readResult, type OdooCall } from './odoo-rpc.js';
import { PosOrders } from './pos-orders.js';
import { posPushMethod, type OdooProfile } from './profile.js';

const PUSH_METHODS = new Set(['create_from_ui', 'sync_from_ui']);

export class OdooModel {
  readonly pos = new PosOrders();
  readonly barcode = new Barcode();
  #created = new Map<string, number>();

  constructor(readonly profile: OdooProfile) {}

  call(call: OdooCall): Outcome {
    const { model, method, args, kwargs } = call;
    if (model === 'pos.order' && PUSH_METHODS.has(method)) {
      // Each release has exactly one of the two: the other is a missing method there.
      if (method !== posPushMethod(this.profile)) return { ok: false, error: missingMethod(model, method) };
      return method === 'create_from_ui' ? this.pos.createFromUi(args, kwargs) : this.pos.syncFromUi(args);
    }
    if (model === 'stock.picking' && method === 'button_validate') return this.barcode.buttonValidate(args);
    if (isRead(method)) return this.barcode.read(model, method, args, kwargs) ?? { ok: true, result: readResult(call), commits: [], repeated: false };
    // Any other write commits once per call and answers as Odoo's create (the new id) and write (true) do.
    const recordId = method === 'create' ? this.#newId(model) : null;
    return { ok: true, result: recordId ?? true, commits: [{ uuid: null, posReference: null, model, method, recordId }], repeated: false };
  }

  reset(): void {
    this.pos.reset();
    this.barcode.reset();
    this.#created.clear();
  }

  #newId(model: string): number {
    const id = (this.#created.get(model) ?? 0) + 1;
    this.#created.set(model, id);
    return id;
  }
}
