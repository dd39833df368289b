import { describe, expect, it } from 'vitest';
import { gatewayState, selects, stateMatches } from './select.js';

describe('gateway selection', () => {
  it('sums a gateway up in one word', () => {
    expect(gatewayState(false, [{ state: 'up' }])).toBe('offline');
    expect(gatewayState(true, [{ state: 'up' }, { state: 'up' }])).toBe('up');
    expect(gatewayState(true, [{ state: 'up' }, { state: 'down' }])).toBe('degraded');
    expect(gatewayState(true, [{ state: 'degraded' }])).toBe('degraded');
    expect(gatewayState(true, [{ state: 'down' }, { state: 'down' }])).toBe('down');
    expect(gatewayState(true, [])).toBe('down');
  });

  it('leaves paths the gateway has not judged (unknown) out of up, and counts a store with none judged as degraded', () => {
    expect(gatewayState(true, [{ state: 'up' }, { state: 'unknown' }])).toBe('up');
    expect(gatewayState(true, [{ state: 'down' }, { state: 'unknown' }])).toBe('degraded');
    expect(gatewayState(true, [{ state: 'unknown' }, { state: 'unknown' }])).toBe('degraded');
  });

  it('selects by region, tag, both or neither', () => {
    const g = { region: 'eu-west', tags: ['pilot', 'mall'] };
    expect(selects({}, g)).toBe(true);
    expect(selects({ region: 'eu-west' }, g)).toBe(true);
    expect(selects({ region: 'eu-east' }, g)).toBe(false);
    expect(selects({ tag: 'mall' }, g)).toBe(true);
    expect(selects({ region: 'eu-west', tag: 'airport' }, g)).toBe(false);
  });

  it('filters by state; online means any connected gateway', () => {
    expect(stateMatches('online', 'degraded')).toBe(true);
    expect(stateMatches('online', 'offline')).toBe(false);
    expect(stateMatches('down', 'down')).toBe(true);
    expect(stateMatches('up', 'degraded')).toBe(false);
  });
});
