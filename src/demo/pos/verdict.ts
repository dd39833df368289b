/**
 * What the tills and scanners believe against what the ERP committed. Pure.
 */
import type { ScannerWrite } from './scanner.js';
import type { TillOrderRecord } from './till.js';

export interface PosVerdict {
  /** Orders paid at the tills (reverted ones are no longer paid). */
  paid: number;
  /** Distinct paid orders the ERP committed. */
  atErp: number;
  /** Paid orders neither at the ERP nor still pending in a till. */
  lost: number;
  /** Orders (distinct uuids) the ERP committed more than once. */
  duplicated: number;
  /** Orders put back to unpaid: the cashier may charge the customer again. */
  reverted: number;
  /** Paid orders a till still holds unsent. */
  pending: number;
}

/** `erpOrders`: one element per committed pos.order (16/17: `uuid` is the order's uid). */
export function posVerdict(
  tills: ReadonlyArray<{ records(): readonly TillOrderRecord[] }>,
  erpOrders: ReadonlyArray<{ uuid: string | null }>,
): PosVerdict {
  const committed = countByUuid(erpOrders);
  const records = tills.flatMap((t) => t.records());
  const paid = records.filter((r) => r.state !== 'reverted');
  return {
    paid: paid.length,
    atErp: paid.filter((r) => committed.has(r.uuid)).length,
    lost: paid.filter((r) => !committed.has(r.uuid) && r.state !== 'pending').length,
    duplicated: [...committed.values()].filter((n) => n > 1).length,
    reverted: records.length - paid.length,
    pending: paid.filter((r) => r.state === 'pending').length,
  };
}

export interface ScannerVerdict {
  saves: number;
  /** New move lines the saves carried. */
  linesSent: number;
  /** Of those, how many the ERP holds. */
  linesAtErp: number;
  /** Lines (distinct dummy ids) the ERP holds more than once. */
  duplicatedLines: number;
  /** Lines of acknowledged saves that the ERP does not hold. */
  lost: number;
}

/** `erpMoveLines`: one element per committed stock.move.line, `uuid` = the dummy_id it came from. */
export function scannerVerdict(
  scanners: ReadonlyArray<{ writes(): readonly ScannerWrite[] }>,
  erpMoveLines: ReadonlyArray<{ uuid: string | null }>,
): ScannerVerdict {
  const committed = countByUuid(erpMoveLines);
  const saves = scanners.flatMap((s) => s.writes()).filter((w) => w.kind === 'save');
  const sent = saves.flatMap((w) => w.dummyIds);
  const acknowledged = saves.filter((w) => w.acknowledged).flatMap((w) => w.dummyIds);
  return {
    saves: saves.length,
    linesSent: sent.length,
    linesAtErp: sent.filter((id) => committed.has(id)).length,
    duplicatedLines: sent.filter((id) => (committed.get(id) ?? 0) > 1).length,
    lost: acknowledged.filter((id) => !committed.has(id)).length,
  };
}

function countByUuid(rows: ReadonlyArray<{ uuid: string | null }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { uuid } of rows) {
    if (uuid !== null) counts.set(uuid, (counts.get(uuid) ?? 0) + 1);
  }
  return counts;
}
