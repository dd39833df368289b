// The demo's scripted story, as data: what happens at each step and the line
// that tells it, and how the tills' and scanners' verdicts read. Pure;
// demo-cmd.ts plays it on the WAN relays.
import type { PosVerdict, ScannerVerdict } from './pos/verdict.js';

export interface StoryWorld {
  /** Cuts one uplink of a store (its WAN relay holds everything). */
  cut(store: string, path: string): void;
  /** Every uplink of every store back up. */
  restoreAll(): void;
}

export interface StoryStep {
  name: 'all-well' | 'fiber-cut' | 'store-offline' | 'restored';
  narration: string;
  apply(w: StoryWorld): void;
  /** A store whose backlog drain is shown as a progress bar during this step. */
  drain?: string;
}

/**
 * The first store has fiber and LTE; the second goes fully offline. Needs two
 * stores at least.
 */
export function story(stores: readonly string[]): StoryStep[] {
  const [dual, offline] = stores;
  if (dual === undefined || offline === undefined) throw new Error('the story needs two stores at least');
  return [
    {
      name: 'all-well',
      narration: `All well: ${stores.length} stores selling; every order goes straight to the ERP over fiber.`,
      apply: (w) => w.restoreAll(),
    },
    {
      name: 'fiber-cut',
      narration: `${dual}'s fiber is cut: within a second LTE carries its checkouts and lookups; bulk traffic waits.`,
      apply: (w) => w.cut(dual, 'fiber'),
    },
    {
      name: 'store-offline',
      narration: `${offline} is fully offline: tills keep selling; the gateway journals each order and tells the till the line is down, so the till keeps it pending and sends it again.`,
      apply: (w) => {
        w.restoreAll();
        w.cut(offline, 'fiber');
      },
    },
    {
      name: 'restored',
      narration: `${offline} is back: its backlog drains at the controlled rate, each order once, and the tills' pending orders are confirmed as they send them again.`,
      apply: (w) => w.restoreAll(),
      drain: offline,
    },
  ];
}

/** A text progress bar: `[#####.....] 50/100`. */
export function progressBar(done: number, total: number, width = 20): string {
  const ratio = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/** A store's orders as its tills see them: `paid 12, at the ERP 11, held at the tills 1, reverted 0`. */
export function tillCounters(v: PosVerdict): string {
  return `paid ${v.paid}, at the ERP ${v.atErp}, held at the tills ${v.pending}, reverted ${v.reverted}`;
}

/** The demo's closing lines: the orders, then the scanners' move lines. */
export function verdictLines(pos: PosVerdict, scanner: ScannerVerdict, unknownHeld: number): string[] {
  const stillHeld = pos.pending > 0 ? `, ${pos.pending} still held at the tills` : '';
  return [
    `orders: ${pos.paid} paid at the tills, ${pos.atErp} at the ERP, ${pos.lost} lost, ${pos.duplicated} duplicated, ${pos.reverted} reverted to unpaid${stillHeld}`,
    `scanner: ${scanner.linesSent} lines sent, ${scanner.linesAtErp} at the ERP, ${scanner.duplicatedLines} duplicated, ${unknownHeld} unknown held for an operator`,
  ];
}

/**
 * Whether the run kept its promise: no order lost, charged twice at the ERP or
 * put back to unpaid, none left at a till, no scanned line written twice.
 */
export function verdictOk(pos: PosVerdict, scanner: ScannerVerdict): boolean {
  return pos.lost === 0 && pos.duplicated === 0 && pos.reverted === 0 && pos.pending === 0 && scanner.duplicatedLines === 0;
}
