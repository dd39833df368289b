// Pages of the gateway list: every gateway once, in id order, however the
// filter thins the registry out and wherever the page boundaries fall.
import { describe, expect, it } from 'vitest';
import type { GatewayRecord } from '../store/registry.js';
import { pageOf } from './page.js';

const ids = Array.from({ length: 23 }, (_, i) => `gw-${String(i).padStart(2, '0')}`);
const registry = {
  reads: 0,
  async page(after: string | undefined, limit: number): Promise<GatewayRecord[]> {
    this.reads++;
    return ids.filter((id) => after === undefined || id > after).slice(0, limit).map((id) => ({ id }) as GatewayRecord);
  },
};

async function all(limit: number, keep: (id: string) => boolean) {
  const pages: string[][] = [];
  let after: string | undefined;
  do {
    const p = await pageOf(registry, after, limit, (g) => (keep(g.id) ? g.id : undefined));
    pages.push(p.items);
    after = p.next;
  } while (after !== undefined);
  return pages;
}

describe('pageOf', () => {
  it('answers everything in one page when it fits, with no next', async () => {
    expect(await pageOf(registry, undefined, 1000, (g) => g.id)).toEqual({ items: ids, next: undefined });
    expect(await pageOf(registry, undefined, 23, (g) => g.id)).toEqual({ items: ids, next: undefined });
  });

  it('pages through every gateway once, in order, filtered or not', async () => {
    for (const limit of [1, 2, 5, 22]) {
      expect((await all(limit, () => true)).flat(), `limit ${limit}`).toEqual(ids);
      const even = (id: string) => Number(id.slice(3)) % 2 === 0;
      const pages = await all(limit, even);
      expect(pages.flat(), `limit ${limit}, filtered`).toEqual(ids.filter(even));
      expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
    }
  });

  it('reads on past gateways the filter leaves out, and stops at the end', async () => {
    registry.reads = 0;
    expect(await pageOf(registry, undefined, 2, (g) => (g.id >= 'gw-20' ? g.id : undefined))).toEqual({ items: ['gw-20', 'gw-21'], next: 'gw-21' });
    expect(registry.reads).toBe(8);
    expect(await pageOf(registry, 'gw-21', 2, (g) => g.id)).toEqual({ items: ['gw-22'], next: undefined });
  });
});
