import { describe, expect, it } from 'vitest';
import type { ScannerWrite } from './scanner.js';
import type { TillOrderRecord } from './till.js';
import { posVerdict, scannerVerdict } from './verdict.js';

const till = (...records: Array<Pick<TillOrderRecord, 'uuid' | 'state'>>) => ({
  records: () => records.map((r) => ({ ...r, posReference: `Order ${r.uuid}`, pushes: 1 })),
});
const save = (dummyIds: string[], acknowledged: boolean): ScannerWrite => ({
  kind: 'save', pickingId: 1, idempotencyKey: 'k', dummyIds, attempts: 1, statuses: [200], acknowledged, lastDetail: '',
});

describe('posVerdict', () => {
  it('counts paid, committed, lost, duplicated, reverted and pending orders', () => {
    const tills = [
      till({ uuid: 'a', state: 'deleted' }, { uuid: 'b', state: 'deleted' }, { uuid: 'c', state: 'reverted' }),
      till({ uuid: 'd', state: 'synced' }, { uuid: 'e', state: 'pending' }, { uuid: 'f', state: 'pending' }),
    ];
    const erp = [{ uuid: 'a' }, { uuid: 'a' }, { uuid: 'd' }, { uuid: 'f' }, { uuid: null }];
    expect(posVerdict(tills, erp)).toEqual({ paid: 5, atErp: 3, lost: 1, duplicated: 1, reverted: 1, pending: 2 });
  });
  it('is all zero with nothing paid', () => {
    expect(posVerdict([], [])).toEqual({ paid: 0, atErp: 0, lost: 0, duplicated: 0, reverted: 0, pending: 0 });
  });
});

describe('scannerVerdict', () => {
  it('counts lines sent, committed, duplicated and lost after an acknowledgement', () => {
    const validate: ScannerWrite = { ...save([], true), kind: 'validate' };
    const scanners = [{ writes: () => [save(['l1', 'l2'], true), save(['l3'], false), validate] }, { writes: () => [save(['l4'], true)] }];
    const erp = [{ uuid: 'l1' }, { uuid: 'l1' }, { uuid: 'l4' }, { uuid: null }];
    expect(scannerVerdict(scanners, erp)).toEqual({ saves: 3, linesSent: 4, linesAtErp: 2, duplicatedLines: 1, lost: 1 });
  });
});
