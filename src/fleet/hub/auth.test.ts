import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HubAuth, parseGatewayTokens, roleAllows } from './auth.js';

const TOKEN_A = 'token-of-store-a-0123456789';
const TOKEN_B = 'token-of-store-b-0123456789';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('hub auth', () => {
  const tokens = parseGatewayTokens(`store-a: ${TOKEN_A}\nstore-b: "sha256:${sha(TOKEN_B).toUpperCase()}"\n`);
  const auth = new HubAuth(tokens, [
    { token: 'operator-token-0123456789', name: 'ops', role: 'operator' },
    { token: 'viewer-token-0123456789', name: 'noc', role: 'viewer' },
  ]);

  it('maps a gateway token, plain or as its sha256, to its gateway id', () => {
    expect(auth.gateway(`Bearer ${TOKEN_A}`)?.id).toBe('store-a');
    expect(auth.gateway(`bearer ${TOKEN_B}`)?.id).toBe('store-b');
    expect(auth.gateway(`Bearer ${TOKEN_A}x`)).toBeUndefined();
    expect(auth.gateway(TOKEN_A)).toBeUndefined();
    expect(auth.gateway(undefined)).toBeUndefined();
    expect(auth.knows('store-b')).toBe(true);
    expect(auth.knows('store-c')).toBe(false);
  });

  it('notices a token that a reload removed', () => {
    const identity = auth.gateway(`Bearer ${TOKEN_A}`)!;
    expect(auth.stillValid(identity)).toBe(true);
    const reloaded = new HubAuth(parseGatewayTokens(`store-a: another-token-0123456789\n`), []);
    expect(reloaded.stillValid(identity)).toBe(false);
  });

  it('refuses token files that would be ambiguous or weak, naming the gateway and never the token', () => {
    expect(() => parseGatewayTokens(`a: ${TOKEN_A}\nb: ${TOKEN_A}\n`)).toThrow('b: has the same token as a');
    expect(() => parseGatewayTokens(`a: short\n`)).toThrow('a: the token must be at least 16 characters');
    expect(() => parseGatewayTokens(`a: sha256:abc\n`)).toThrow('a: a sha256 digest is 64 hex digits');
    expect(() => parseGatewayTokens(`"bad id!": ${TOKEN_A}\n`)).toThrow('not a valid gateway id');
    expect(() => parseGatewayTokens(`- ${TOKEN_A}\n`)).toThrow('must be a mapping');
    try {
      parseGatewayTokens(`a: ${TOKEN_A}\nb: ${TOKEN_A}\n`);
    } catch (e) {
      expect((e as Error).message).not.toContain(TOKEN_A);
    }
  });

  it('knows ops tokens and what each role may do', () => {
    expect(auth.ops('Bearer operator-token-0123456789')).toEqual({ name: 'ops', role: 'operator' });
    expect(auth.ops('Bearer viewer-token-0123456789')).toEqual({ name: 'noc', role: 'viewer' });
    expect(auth.ops(`Bearer ${TOKEN_A}`)).toBeUndefined();
    expect(auth.ops(undefined)).toBeUndefined();
    expect(roleAllows('viewer', 'GET')).toBe(true);
    expect(roleAllows('viewer', 'POST')).toBe(false);
    expect(roleAllows('viewer', 'PUT')).toBe(false);
    expect(roleAllows('operator', 'POST')).toBe(true);
  });
});
