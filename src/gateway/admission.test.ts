import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildAdmission, parseDeviceTokens } from './admission.js';

describe('device admission', () => {
  it('admits anyone when no rules are set', () => {
    expect(buildAdmission(undefined, undefined).admit('10.9.9.9', undefined)).toEqual({ ok: true, deviceId: undefined });
  });

  it.each<[string, boolean]>([
    ['192.168.10.7', true],
    ['::ffff:192.168.10.7', true],
    ['192.168.11.7', false],
    ['10.0.0.1', true],
    ['10.0.0.2', false],
    ['fd00::5', true],
    ['fd01::5', false],
    ['not-an-ip', false],
  ])('CIDR allowlist: %s -> %s', (ip, ok) => {
    expect(buildAdmission(['192.168.10.0/24', '10.0.0.1', 'fd00::/64'], undefined).admit(ip, undefined).ok).toBe(ok);
  });

  it('maps device tokens to device ids, by plain token or sha256 digest', () => {
    const digest = createHash('sha256').update('scanner-secret-0002').digest('hex');
    const tokens = parseDeviceTokens(`pos-1: pos-secret-0001\nscanner-2: "sha256:${digest}"\n`);
    const adm = buildAdmission(undefined, tokens);
    expect(adm.admit('1.2.3.4', 'pos-secret-0001')).toEqual({ ok: true, deviceId: 'pos-1' });
    expect(adm.admit('1.2.3.4', 'scanner-secret-0002')).toEqual({ ok: true, deviceId: 'scanner-2' });
    expect(adm.admit('1.2.3.4', 'wrong')).toMatchObject({ ok: false, reason: 'unknown device token' });
    expect(adm.admit('1.2.3.4', undefined)).toMatchObject({ ok: false, reason: 'device token required' });
  });

  it('requires both network and token when both are set', () => {
    const adm = buildAdmission(['192.168.10.0/24'], parseDeviceTokens('pos-1: pos-secret-0001'));
    expect(adm.admit('192.168.20.1', 'pos-secret-0001').ok).toBe(false);
    expect(adm.admit('192.168.10.1', 'pos-secret-0001').ok).toBe(true);
  });

  it.each(['- a\n- b', 'pos-1: 42', 'pos-1: "sha256:abc"', 'just text'])('rejects a malformed token file: %s', (text) => {
    expect(() => parseDeviceTokens(text)).toThrow();
  });
});
