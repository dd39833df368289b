// One page of a filtered list, read from the registry in id order a chunk at
// a time: the filters (state needs the live connections) apply in the hub, and
// a page never reads much more of the registry than it answers.
import type { GatewayRecord } from '../store/registry.js';

export interface Page<T> {
  items: T[];
  /** The id to read on from (`after`), when there may be more. */
  next: string | undefined;
}

/** Up to `limit` items after the id `after`; `pick` makes a record an item, or undefined to leave it out. */
export async function pageOf<T>(
  registry: { page(after: string | undefined, limit: number): Promise<GatewayRecord[]> },
  after: string | undefined,
  limit: number,
  pick: (g: GatewayRecord) => T | undefined,
): Promise<Page<T>> {
  const items: T[] = [];
  let cursor = after;
  for (;;) {
    // One more than the page needs: a full page followed by nothing has no next.
    const chunk = await registry.page(cursor, limit + 1);
    for (const g of chunk) {
      const item = pick(g);
      if (item === undefined) continue;
      if (items.length === limit) return { items, next: cursor };
      items.push(item);
      cursor = g.id;
    }
    if (chunk.length <= limit) return { items, next: undefined };
    cursor = chunk[chunk.length - 1]!.id;
  }
}
