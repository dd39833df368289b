import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** True when an Authorization header carries `Bearer <expected>`. Constant time in the token's content and length. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  // Compare digests so that neither length nor content of the secret leaks through timing.
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(expected)) && m !== null;
}
