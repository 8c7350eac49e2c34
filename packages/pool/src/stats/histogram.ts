import type { DurationSummary } from '../types';

/** Each power of two is split into this many linear sub-buckets (at most 6.25 % wide). */
const SUB_BUCKET_BITS = 4;
/** Durations up to 2^-14 ms (61 ns) share the first bucket; 40 powers of two reach 18 hours. */
const MIN_EXPONENT = -14;
const OCTAVES = 40;
const BUCKETS = 1 + (OCTAVES << SUB_BUCKET_BITS);
const MIN_MS = 2 ** MIN_EXPONENT;

// A bucket is read off the bits of the float64: its exponent and the top bits of its mantissa.
const float = new Float64Array(1);
const words = new Uint32Array(float.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const KEY_SHIFT = 20 - SUB_BUCKET_BITS;
const BASE_KEY = (1023 + MIN_EXPONENT) << SUB_BUCKET_BITS;

/** The smallest duration of a bucket (ms). */
function lowerBound(bucket: number): number {
  if (bucket === 0) return 0;
  const key = BASE_KEY + bucket - 1;
  const subBuckets = 1 << SUB_BUCKET_BITS;
  return 2 ** ((key >> SUB_BUCKET_BITS) - 1023) * (1 + (key & (subBuckets - 1)) / subBuckets);
}

/**
 * A log-linear histogram of durations in ms (at most 6.25 % bucket width from 61 ns to 18 hours).
 * Recording reads the bucket off the float's bits: no logarithm on the hot path of big batches.
 */
export class DurationHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private count = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    let bucket = 0;
    if (ms > MIN_MS) {
      float[0] = ms;
      bucket = ((words[HIGH] as number) >>> KEY_SHIFT) - BASE_KEY + 1;
      if (bucket >= BUCKETS) bucket = BUCKETS - 1;
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
        // The bucket's upper bound (the last one has none), never above the largest value seen.
        const upper = bucket === 0 ? MIN_MS : bucket === BUCKETS - 1 ? Infinity : lowerBound(bucket + 1);
        return Math.min(upper, this.max);
      }
    }
    return this.max;
  }
}
