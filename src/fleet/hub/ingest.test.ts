import { describe, expect, it } from 'vitest';
import type { TelemetrySample } from './downsample.js';
import { committedIds } from './ingest.js';

const sample = { ts: 1, configVersion: 'v1', paths: [], queue: { pending: 0, dead: 0, oldestAgeS: 0 }, requests: {} } satisfies TelemetrySample;
const event = (gatewayId: string, msgId?: string) => ({ gatewayId, ts: 1, source: msgId ? ('gateway' as const) : ('hub' as const), event: 'link.state', details: {}, ...(msgId && { msgId }) });

describe('committedIds', () => {
  it("names each gateway's telemetry and events a batch carried, in order, and none of the hub's own events", () => {
    const ids = committedIds({
      telemetry: [
        { gatewayId: 'a', sample, msgId: 't1' },
        { gatewayId: 'b', sample, msgId: 't2' },
        { gatewayId: 'a', sample },
        { gatewayId: 'a', sample, msgId: 't3' },
      ],
      events: [event('a', 'e1'), event('c')],
    });
    expect([...ids]).toEqual([
      ['a', ['t1', 't3', 'e1']],
      ['b', ['t2']],
    ]);
  });

  it('is empty for a batch of nothing a gateway sent', () => {
    expect(committedIds({ telemetry: [], events: [event('c')] }).size).toBe(0);
  });
});
