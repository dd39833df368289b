import { describe, expect, it } from 'vitest';
import { newEntryId } from './entry-ids.js';

describe('newEntryId', () => {
  it('makes unique UUIDs that sort in the order they were made, also within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => newEntryId());
    expect(new Set(ids).size).toBe(ids.length);
    // The journal's receipt and key indexes compare text: made in order, stored in order.
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('starts with the time it was made, as UUIDv7 does (RFC 9562)', () => {
    const before = Date.now();
    const id = newEntryId();
    const ms = parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });
});
