import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { batched } from './metric-batch.js';

function setup() {
  const registry = new Registry();
  const applied: number[] = [];
  const requests = batched(
    (collect) => new Counter({ name: 'reqs_total', help: 'h', labelNames: ['outcome'], registers: [registry], collect }),
    (counter, labels, by) => {
      applied.push(by);
      counter.inc(labels, by);
    },
  );
  const duration = batched(
    (collect) => new Histogram({ name: 'dur_seconds', help: 'h', labelNames: ['class'], buckets: [0.01, 0.1, 1], registers: [registry], collect }),
    (histogram, labels, seconds) => histogram.observe(labels, seconds),
  );
  return { registry, applied, requests, duration };
}

describe('batched metrics', () => {
  it('gives every record to a scrape, however few were recorded', async () => {
    const { registry, requests, duration } = setup();
    requests.record({ outcome: 'forwarded' }, 1);
    requests.record({ outcome: 'forwarded' }, 1);
    requests.record({ outcome: 'no_route' }, 1);
    duration.record({ class: 'critical' }, 0.005);
    duration.record({ class: 'critical' }, 0.5);
    const lines = (await registry.metrics()).split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'reqs_total{outcome="forwarded"} 2',
        'reqs_total{outcome="no_route"} 1',
        'dur_seconds_bucket{le="0.01",class="critical"} 1',
        'dur_seconds_bucket{le="1",class="critical"} 2',
        'dur_seconds_sum{class="critical"} 0.505',
        'dur_seconds_count{class="critical"} 2',
      ]),
    );
  });

  it('gives them to a read of the metric itself, once each', async () => {
    const { requests } = setup();
    for (let i = 0; i < 5; i++) requests.record({ outcome: 'forwarded' }, 1);
    expect((await requests.metric.get()).values).toEqual([{ labels: { outcome: 'forwarded' }, value: 5 }]);
    expect((await requests.metric.get()).values).toEqual([{ labels: { outcome: 'forwarded' }, value: 5 }]);
  });

  it('hands records over in batches without a read, so memory stays bounded', async () => {
    const { applied, requests } = setup();
    for (let i = 0; i < 300; i++) requests.record({ outcome: 'forwarded' }, 1);
    expect(applied).toHaveLength(256);
    expect((await requests.metric.get()).values[0]?.value).toBe(300);
    expect(applied).toHaveLength(300);
  });

  it('throws a record prom-client refuses once, and keeps the rest', async () => {
    const { registry, duration } = setup();
    duration.record({ class: 'critical' }, 0.05);
    duration.record({ class: 'critical' }, Number.NaN);
    await expect(registry.metrics()).rejects.toThrow(/not a valid number/);
    duration.record({ class: 'critical' }, 0.05);
    expect(await registry.metrics()).toContain('dur_seconds_count{class="critical"} 2');
  });
});
