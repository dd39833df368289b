import { describe, expect, it } from 'vitest';
import { bearerMatches } from './auth.js';

describe('bearer token check', () => {
  const token = 'admin-token-0123456789';
  it.each<[string | undefined, boolean]>([
    [`Bearer ${token}`, true],
    [`bearer ${token}`, true],
    [`Bearer ${token}x`, false],
    [`Bearer ${token.slice(1)}`, false],
    [`Basic ${token}`, false],
    [token, false],
    ['Bearer ', false],
    [undefined, false],
  ])('%s -> %s', (header, ok) => {
    expect(bearerMatches(header, token)).toBe(ok);
  });
});
