import type { DurationSummary } from './types';

const MIN_MS = 1e-4;
const SUB_BUCKETS = 16;
const BUCKETS = 40 * SUB_BUCKETS;
const LOG_SCALE = SUB_BUCKETS / Math.LN2;

/**
 * A log-linear histogram of durations in ms (about 4% resolution from 0.1 µs to hours): recording is
 * a few arithmetic operations, a summary walks a fixed number of buckets.
 */
export class DurationHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private count = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    let bucket = 0;
    if (ms > MIN_MS) {
      bucket = Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(ms / MIN_MS) * LOG_SCALE));
    }
    this.counts[bucket]!++;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  summary(): DurationSummary {
    if (this.count === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    return {
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      max: this.max,
      mean: this.sum / this.count,
    };
  }

  private quantile(q: number): number {
    const rank = q * this.count;
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) {
        // The bucket's upper bound, never above the largest value seen.
        const upper = bucket === 0 ? MIN_MS : MIN_MS * Math.exp(bucket / LOG_SCALE);
        return Math.min(upper, this.max);
      }
    }
    return this.max;
  }
}
