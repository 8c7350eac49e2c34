/**
 * Default histogram buckets, in seconds: 10 µs to 30 s in 1-2.5-5 steps, so that both
 * microsecond-scale calls (a few arithmetic instructions) and multi-second jobs land in a bucket
 * that tells them apart. 21 buckets plus `+Inf`.
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5, 5, 10, 20, 30,
]);

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
