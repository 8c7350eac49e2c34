/** The smallest default bucket bound, in seconds (0.5 µs). */
export const SMALLEST_DEFAULT_BUCKET = 0.5e-6;

/**
 * Default histogram buckets, in seconds: powers of two from 0.5 µs to about 33.6 s (0.5 µs × 2^k,
 * k = 0…26), 27 buckets plus `+Inf`. Each bucket is twice the one below, so a
 * `histogram_quantile()` (which interpolates inside one bucket) is never off by more than 2× from
 * the true quantile, from tasks of a few arithmetic instructions (well under a microsecond, in the
 * first bucket) to multi-second jobs. The bounds are exact in binary and print as short decimals
 * (`0.000016`, `0.001024`, ...).
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze(
  Array.from({ length: 27 }, (_, k) => SMALLEST_DEFAULT_BUCKET * 2 ** k),
);

/** Default buckets of the queue-wait histogram, in seconds (same range as the run time). */
export const DEFAULT_WAIT_BUCKETS: readonly number[] = DEFAULT_DURATION_BUCKETS;

/**
 * Checks caller-given buckets: finite, positive, strictly increasing, at least one.
 *
 * @returns a sorted copy that prom-client may keep.
 * @throws TypeError naming the option when the buckets are unusable.
 */
export function checkBuckets(option: string, buckets: readonly number[]): number[] {
  if (!Array.isArray(buckets) || buckets.length === 0) {
    throw new TypeError(`${option} must be a non-empty array of bucket upper bounds in seconds`);
  }
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i];
    if (typeof b !== 'number' || !Number.isFinite(b) || b <= 0) {
      throw new TypeError(`${option}[${i}] must be a finite number of seconds > 0, got ${String(b)}`);
    }
    if (i > 0 && b <= buckets[i - 1]) {
      throw new TypeError(`${option} must be strictly increasing (${option}[${i}] = ${b})`);
    }
  }
  return [...buckets];
}
