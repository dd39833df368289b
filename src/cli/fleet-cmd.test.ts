import { describe, expect, it } from 'vitest';
import { renderFleet } from './fleet-cmd.js';

describe('storegw fleet ls', () => {
  it('says which backlog nears expiry', () => {
    const now = 1_700_000_000_000;
    const g = { id: 's-1', region: 'eu', state: 'down', lastSeen: now, paths: [], configVersion: 'v', desiredConfigVersion: null };
    expect(renderFleet([{ ...g, queue: { pending: 3, dead: 0, oldestAgeS: 547_200, maxAgeS: 604_800, expiryWarning: 0.9 } }], now)).toMatch(/\s3\/0 547200s NEAR EXPIRY \(90%\)\s+v$/m);
    expect(renderFleet([{ ...g, queue: { pending: 3, dead: 0, oldestAgeS: 60, maxAgeS: 604_800, expiryWarning: null } }], now)).not.toContain('EXPIRY');
  });

  it('shows one line per gateway, and the desired config where it differs', () => {
    const now = 1_700_000_000_000;
    const text = renderFleet(
      [
        { id: 'store-0042', region: 'eu-west', state: 'degraded', lastSeen: now - 4000, paths: [{ name: 'fiber', state: 'down' }, { name: 'lte', state: 'up' }], queue: { pending: 12, dead: 1, oldestAgeS: 45.4 }, configVersion: 'abc123abc123', desiredConfigVersion: 'def456def456' },
        { id: 'store-7', region: 'eu-east', state: 'offline', lastSeen: now - 3 * 3_600_000, paths: [], queue: null, configVersion: 'abc123abc123', desiredConfigVersion: 'abc123abc123' },
      ],
      now,
    );
    expect(text.split('\n')).toEqual([
      expect.stringMatching(/^ID\s+REGION\s+STATE\s+LAST SEEN\s+PATHS\s+QUEUE P\/D OLDEST\s+CONFIG$/),
      expect.stringMatching(/^store-0042\s+eu-west\s+DEGRADED\s+4s ago\s+fiber:down lte:up\s+12\/1 45s\s+abc123abc123 \(desired def456def456\)$/),
      expect.stringMatching(/^store-7\s+eu-east\s+OFFLINE\s+3h ago\s+-\s+-\s+abc123abc123$/),
    ]);
    expect(renderFleet([], now)).toBe('no gateways');
  });
});
