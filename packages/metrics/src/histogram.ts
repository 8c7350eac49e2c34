import type { Histogram } from 'prom-client';
import type { AnyRegistry } from './source';

/** One exposed sample, in the shape prom-client's registry serializes. */
export interface HistogramSample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** True when every bound is twice the one before (the default buckets): bucket found from the exponent. */
function doubles(bounds: Float64Array): boolean {
  for (let i = 1; i < bounds.length; i++) if (bounds[i] !== bounds[0] * 2 ** i) return false;
  return bounds.length > 0;
}

/**
 * One labelled series of a {@link BucketHistogram}: plain numbers, updated without allocation.
 * Values are recorded in milliseconds (the pool's unit), so the task path does not divide; the
 * exposition is in seconds.
 */
export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is the `+Inf` bucket. */
  readonly counts: Float64Array;
  /** Sum of the observed values, ms. */
  sumMs = 0;
  count = 0;
  /** The bucket of the previous value: tasks of one module mostly land in the same one. */
  private last = 0;
  /** bounds with 0 before and +Infinity after, so that bucket i is (edges[i], edges[i + 1]]. */
  private readonly edges: Float64Array;

  /** 1 / the first bound when the bounds double (in seconds), else 0. */
  private readonly perFirstBound: number;

  /**
   * @param bounds - the upper bounds in ms
   * @param doubling - whether each bound is twice the one before (checked on the bounds in seconds,
   *   which are exact powers of two apart; in ms they may be an ulp off, which observe() corrects)
   */
  constructor(
    private readonly bounds: Float64Array,
    doubling = false,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
    this.edges = new Float64Array(bounds.length + 2);
    this.edges[0] = -Infinity;
    this.edges.set(bounds, 1);
    this.edges[bounds.length + 1] = Infinity;
    this.perFirstBound = doubling ? 1 / bounds[0] : 0;
  }

  /**
   * Records one value in ms, then three additions. Its bucket: with doubling bounds, read off the
   * exponent of value ÷ first bound; otherwise two comparisons when it falls in the previous value's
   * bucket, else a binary search over the bounds.
   */
  observe(value: number): void {
    if (this.perFirstBound > 0) {
      const bucket = this.doublingBucket(value);
      this.counts[bucket]++;
      this.sumMs += value;
      this.count++;
      return;
    }
    const last = this.last;
    if (value > this.edges[last] && value <= this.edges[last + 1]) {
      this.counts[last]++;
      this.sumMs += value;
      this.count++;
      return;
    }
    const bounds = this.bounds;
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (value <= bounds[mid]) hi = mid;
      else lo = mid + 1;
    }
    this.last = lo;
    this.counts[lo]++;
    this.sumMs += value;
    this.count++;
  }

  /**
   * The bucket of `value` when bound i is first bound × 2^i: ⌈log2(value ÷ first bound)⌉, clamped.
   * (Integer operations only: reading the exponent off the float's bits through a typed array was
   * four times slower when two histograms record one after the other.)
   */
  private doublingBucket(value: number): number {
    const bounds = this.bounds;
    const n = bounds.length;
    const x = value * this.perFirstBound;
    if (!(x > 1)) {
      if (Number.isNaN(x)) return n; // to +Inf, as the search puts it
      return value <= bounds[0] ? 0 : 1; // 1: a value an ulp above the first bound
    }
    // ⌈log2 x⌉ = ⌈log2 ⌈x⌉⌉ = 32 - clz32(⌈x⌉ - 1) for x > 1, while ⌈x⌉ fits in 32 bits
    let bucket = x < 2 ** 31 ? 32 - Math.clz32(Math.ceil(x) - 1) : n;
    if (bucket >= n) bucket = value <= bounds[n - 1] ? n - 1 : n;
    // the bounds in ms may be an ulp off exact doubling: settle a value that sits on a bound exactly
    else if (bucket > 0 && value <= bounds[bucket - 1]) bucket--;
    else if (value > bounds[bucket]) bucket++;
    return bucket;
  }

  reset(): void {
    this.counts.fill(0);
    this.sumMs = 0;
    this.count = 0;
  }
}

/** Settings of a {@link BucketHistogram}. */
export interface BucketHistogramConfig {
  name: string;
  help: string;
  /** The one label of every series. */
  labelName: string;
  /** Upper bounds in seconds, strictly increasing, without `+Inf`. */
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
  /** Upper bounds in seconds, as exposed in `le`. */
  private readonly bounds: Float64Array;
  /** The same in ms, as the series compare them. */
  private readonly boundsMs: Float64Array;
  private readonly doubling: boolean;
  private readonly series = new Map<string, HistogramSeries>();

  constructor(config: BucketHistogramConfig) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = [config.labelName];
    this.bounds = Float64Array.from(config.buckets);
    this.boundsMs = this.bounds.map((seconds) => seconds * 1000);
    this.doubling = doubles(this.bounds);
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
      series = new HistogramSeries(this.boundsMs, this.doubling);
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
      values.push({
        metricName: `${this.name}_sum`,
        labels: { [label]: labelValue },
        value: series.sumMs / 1000,
      });
      values.push({ metricName: `${this.name}_count`, labels: { [label]: labelValue }, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
