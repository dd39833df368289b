// The metrics every proxied request records, handed to prom-client in
// batches. prom-client checks and hashes the labels on every call, and a
// histogram looks its bucket up by a number turned into a string: interleaved
// with the rest of a request's work, the three calls a request made cost the
// gateway about 4 % of its CPU per JSON-RPC request (side by side, the batch
// read 1.04× the build before's requests per CPU second: docs/benchmarks.md);
// run back to back, the same calls cost a fraction of that. Nothing is lost or
// late to a reader: every read of the metric (a scrape, the fleet report)
// flushes first, through prom-client's collect hook.
import type { Counter, Histogram, LabelValues } from 'prom-client';

/** How many records wait at most: bounded memory, and one request in that many pays the flush (85–95 µs, median, in a loop on a 2-core EPYC). */
const BATCH = 256;

export interface BatchedMetric<M, T extends string> {
  /** The prom-client metric, to read (its reads include everything recorded). */
  readonly metric: M;
  /** Counts `value` (a counter's increment, a histogram's observation) under `labels`. */
  record(labels: LabelValues<T>, value: number): void;
}

/**
 * `make` builds the metric with the collect hook it is given; `apply` gives
 * one record to it (inc, observe). Records are applied in the order made.
 */
export function batched<M extends Counter<T> | Histogram<T>, T extends string>(
  make: (collect: () => void) => M,
  apply: (metric: M, labels: LabelValues<T>, value: number) => void,
): BatchedMetric<M, T> {
  let labels: LabelValues<T>[] = [];
  let values: number[] = [];
  const flush = () => {
    // Taken before they are applied: a record prom-client refuses throws
    // once, to whoever flushed, and is not met again at every later flush.
    const [l, v] = [labels, values];
    labels = [];
    values = [];
    for (let i = 0; i < l.length; i++) apply(metric, l[i] as LabelValues<T>, v[i] as number);
  };
  const metric = make(flush);
  return {
    metric,
    record(l, v) {
      labels.push(l);
      values.push(v);
      if (labels.length >= BATCH) flush();
    },
  };
}
