import type { Histogram } from 'prom-client';
import type { AnyRegistry } from './source';

/** One exposed sample, in the shape prom-client's registry serializes. */
export interface HistogramSample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** One labelled series of a {@link BucketHistogram}: plain numbers, updated without allocation. */
export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is the `+Inf` bucket. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Records one value: a binary search over the bounds and three additions. */
  observe(value: number): void {
    const bounds = this.bounds;
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (value <= bounds[mid]) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]++;
    this.sum += value;
    this.count++;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** Settings of a {@link BucketHistogram}. */
export interface BucketHistogramConfig {
  name: string;
  help: string;
  /** The one label of every series. */
  labelName: string;
  /** Upper bounds, strictly increasing, without `+Inf`. */
  buckets: readonly number[];
}

/**
 * A Prometheus histogram with one label, registered in a prom-client `Registry` and exposed by it
 * exactly like a prom-client `Histogram` (`_bucket` with `le`, `_sum`, `_count`).
 *
 * prom-client's own `observe()` validates and hashes the labels on every call (about 0.4 µs); a
 * series here is a typed array updated in a few nanoseconds, and the cumulative buckets are built only
 * when the registry is scraped.
 */
export class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly labelNames: string[];
  private readonly bounds: Float64Array;
  private readonly series = new Map<string, HistogramSeries>();

  constructor(config: BucketHistogramConfig) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = [config.labelName];
    this.bounds = Float64Array.from(config.buckets);
  }

  /** Adds the histogram to a registry (which throws if the name is taken). */
  register(registry: AnyRegistry): void {
    // The registry only reads name, help, type, get() and reset(); it is typed for its own classes.
    registry.registerMetric(this as unknown as Histogram);
  }

  /** The series of one label value, created at zero on first use; keep it to observe cheaply. */
  labels(value: string): HistogramSeries {
    let series = this.series.get(value);
    if (series === undefined) {
      series = new HistogramSeries(this.bounds);
      this.series.set(value, series);
    }
    return series;
  }

  /** Zeroes every series (prom-client `registry.resetMetrics()`). */
  reset(): void {
    for (const series of this.series.values()) series.reset();
  }

  /** The values in prom-client's shape, as the registry serializes them. */
  async get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: HistogramSample[];
  }> {
    const label = this.labelNames[0];
    const bucketName = `${this.name}_bucket`;
    const values: HistogramSample[] = [];
    for (const [labelValue, series] of this.series) {
      if (series.count === 0) continue; // like prom-client: a series appears with its first observation
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.counts[i];
        values.push({
          metricName: bucketName,
          labels: { le: this.bounds[i], [label]: labelValue },
          value: cumulative,
        });
      }
      values.push({
        metricName: bucketName,
        labels: { le: '+Inf', [label]: labelValue },
        value: series.count,
      });
      values.push({ metricName: `${this.name}_sum`, labels: { [label]: labelValue }, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [label]: labelValue }, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
