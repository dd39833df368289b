// The demo's scripted story, as data: what happens at each step and the line
// that tells it. Pure; fleet-demo.ts plays it on the WAN relays.

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
      narration: `${offline} is fully offline: tills keep selling, orders are journaled (202) and its backlog grows.`,
      apply: (w) => {
        w.restoreAll();
        w.cut(offline, 'fiber');
      },
    },
    {
      name: 'restored',
      narration: `${offline} is back: its backlog drains at the controlled rate, each order once.`,
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
