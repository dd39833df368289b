// stock_barcode's traffic as the simulated ERP serves it: loading a picking,
// saving scanned move lines, validating the picking, and the read-back tests
// use to check what the ERP ended up with. Pure state and logic.
//
// stock_barcode is Odoo Enterprise: its source (odoo/enterprise) is not
// public, so this is modelled from ODOO-POS.md, not from the code:
// - save_barcode_data {model, res_id, write_field, write_vals} applies ORM
//   commands; every [0, 0, vals] creates a NEW stock.move.line, whatever was
//   sent before and whatever the headers say: there is no idempotency token.
//   vals.dummy_id (the client's id for a new line) is stored and used for
//   nothing else. [1, id, vals] writes an existing line (MissingError when it
//   does not exist). Other commands are ignored. The answer is the picking's
//   data again, as get_barcode_data gives it (the shape is the simulator's).
// - stock.picking button_validate([ids]) validates once; validating a done
//   picking is a UserError and writes nothing.
// Every positive id names a picking, in state 'assigned' until validated;
// searches see only the pickings the simulator has been asked about.
// Failure trigger: vals with `"_sim_fail": true` fail the save, committing nothing.
import type { Commit, Outcome } from './ledger.js';
import { matches, parseDomain } from './domain.js';
import { isObject, serverError, userError, type OdooError } from './odoo-rpc.js';

type Row = Record<string, unknown>;

interface Picking {
  id: number;
  name: string;
  state: 'assigned' | 'done';
}

const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** The fields `fields` asks for (all when it names none), id always. */
function pick(row: Row, fields: unknown): Row {
  if (!Array.isArray(fields) || fields.length === 0) return row;
  return Object.fromEntries(Object.entries(row).filter(([k]) => k === 'id' || fields.includes(k)));
}

function missing(model: string, id: unknown): OdooError {
  return serverError('odoo.exceptions.MissingError', `Record does not exist or has been deleted.\n(Record: ${model}(${JSON.stringify(id)},), User: 2)`);
}

export class Barcode {
  #pickings = new Map<number, Picking>();
  #lines = new Map<number, Row>();

  /** POST /stock_barcode/get_barcode_data {model, res_id}: a read. */
  getBarcodeData(params: Row): Outcome {
    const { model, res_id: id } = params;
    if (typeof model !== 'string' || !isId(id)) return { ok: false, error: serverError('builtins.TypeError', 'get_barcode_data() needs model and res_id') };
    return { ok: true, result: this.#barcodeData(model, id), commits: [], repeated: false };
  }

  /** POST /stock_barcode/save_barcode_data {model, res_id, write_field, write_vals}. */
  saveBarcodeData(params: Row): Outcome {
    const { model, res_id: pickingId, write_vals: commands } = params;
    if (typeof model !== 'string' || !isId(pickingId) || !Array.isArray(commands)) {
      return { ok: false, error: serverError('builtins.TypeError', 'save_barcode_data() needs model, res_id, write_field and write_vals') };
    }
    // Checks every command before writing any: a failing one leaves nothing behind, as the rolled-back transaction does.
    for (const c of commands) {
      if (!Array.isArray(c)) continue;
      const vals: unknown = c[2];
      if (isObject(vals) && vals._sim_fail === true) return { ok: false, error: userError('Simulated failure of save_barcode_data: the whole call is rolled back') };
      if (c[0] === 1 && !this.#lines.has(c[1] as number)) return { ok: false, error: missing('stock.move.line', c[1]) };
    }
    const commits: Commit[] = [];
    for (const c of commands) {
      if (!Array.isArray(c) || !isObject(c[2])) continue;
      const vals = c[2];
      const dummyId = typeof vals.dummy_id === 'string' ? vals.dummy_id : null;
      let line: Row;
      if (c[0] === 0) {
        line = { ...vals, id: this.#lines.size + 1, picking_id: pickingId, dummy_id: dummyId ?? false };
        this.#lines.set(line.id as number, line);
      } else if (c[0] === 1) {
        line = Object.assign(this.#lines.get(c[1] as number)!, vals, { id: c[1] });
      } else continue;
      commits.push({ uuid: dummyId, posReference: null, model: 'stock.move.line', method: 'save_barcode_data', recordId: line.id as number });
    }
    return { ok: true, result: this.#barcodeData(model, pickingId), commits, repeated: false };
  }

  /** stock.picking button_validate(ids). */
  buttonValidate(args: unknown[]): Outcome {
    const ids = Array.isArray(args[0]) ? args[0] : [args[0]];
    if (!ids.every(isId)) return { ok: false, error: serverError('builtins.TypeError', 'button_validate() expects picking ids') };
    const done = ids.map((id) => this.#picking(id)).find((p) => p.state === 'done');
    if (done) return { ok: false, error: userError(`${done.name}: this transfer is already done (simulated wording)`) };
    const commits = ids.map((id): Commit => {
      this.#picking(id).state = 'done';
      return { uuid: null, posReference: null, model: 'stock.picking', method: 'button_validate', recordId: id };
    });
    return { ok: true, result: true, commits, repeated: false };
  }

  /**
   * search, search_count, search_read and read on stock.picking and
   * stock.move.line, from the simulator's state; undefined for any other call,
   * which is not the barcode model's to answer.
   */
  read(model: string, method: string, args: unknown[], kwargs: Row): Outcome | undefined {
    const rows = model === 'stock.picking' ? [...this.#pickings.values()].map((p) => ({ ...p }) as Row) : model === 'stock.move.line' ? [...this.#lines.values()] : undefined;
    if (rows === undefined) return undefined;
    const answer = (result: unknown): Outcome => ({ ok: true, result, commits: [], repeated: false });
    if (method === 'read') {
      const ids = Array.isArray(args[0]) ? args[0] : [args[0]];
      return answer(rows.filter((r) => ids.includes(r.id)).map((r) => pick(r, args[1] ?? kwargs.fields)));
    }
    if (!['search', 'search_count', 'search_read'].includes(method)) return undefined;
    const terms = parseDomain(args[0] ?? kwargs.domain);
    if ('error' in terms) return { ok: false, error: serverError('builtins.ValueError', terms.error) };
    const found = rows.filter((r) => matches(r, terms)).sort((a, b) => (a.id as number) - (b.id as number));
    if (method === 'search_count') return answer(found.length);
    if (method === 'search') return answer(found.map((r) => r.id));
    return answer(found.map((r) => pick(r, args[1] ?? kwargs.fields)));
  }

  reset(): void {
    this.#pickings.clear();
    this.#lines.clear();
  }

  #picking(id: number): Picking {
    let p = this.#pickings.get(id);
    if (p === undefined) {
      p = { id, name: `WH/OUT/${String(id).padStart(5, '0')}`, state: 'assigned' };
      this.#pickings.set(id, p);
    }
    return p;
  }

  #barcodeData(model: string, id: number): Row {
    if (model !== 'stock.picking') return { data: { records: { [model]: [{ id }] } }, groups: {} };
    const picking = this.#picking(id);
    const lines = [...this.#lines.values()].filter((l) => l.picking_id === id);
    return { data: { records: { 'stock.picking': [{ ...picking, move_line_ids: lines.map((l) => l.id) }], 'stock.move.line': lines }, nomenclature_id: 1 }, groups: {} };
  }
}
