import { DEFAULT_DURATION_BUCKETS } from '@wasmpool/metrics';
import { HistogramSeries } from '../src/histogram';

/** The bucket a value lands in: the index of the count that observe() raised. */
function bucketOf(series: HistogramSeries, value: number): number {
  const before = Float64Array.from(series.counts);
  series.observe(value);
  const changed = series.counts.findIndex((c, i) => c !== before[i]);
  expect(changed).toBeGreaterThanOrEqual(0);
  return changed;
}

/** The bucket by definition: the first bound that is >= value, else +Inf. */
function expectedBucket(boundsMs: Float64Array, value: number): number {
  const i = boundsMs.findIndex((b) => value <= b);
  return i < 0 ? boundsMs.length : i;
}

describe('HistogramSeries bucket lookup', () => {
  const boundsMs = Float64Array.from(DEFAULT_DURATION_BUCKETS, (s) => s * 1000);
  // every value on a bound, an ulp either side of it, random values over the whole range, and odd ones
  const values: number[] = [0, -1, -0, Infinity, -Infinity, NaN, Number.MIN_VALUE, 1e-12, 1e12];
  for (const b of boundsMs) values.push(b, b * (1 + Number.EPSILON), b * (1 - Number.EPSILON / 2), b * 1.5);
  let seed = 12345;
  for (let i = 0; i < 5000; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    values.push(10 ** (-5 + (seed / 2 ** 32) * 10)); // 10 ns to 100 s, log-uniform, in ms
  }

  test.each([
    ['doubling (exponent read off the float)', true],
    ['search (previous bucket, then binary search)', false],
  ])('%s puts every value in the bucket the definition gives', (_, doubling) => {
    const series = new HistogramSeries(boundsMs, doubling);
    for (const v of values) {
      const want = Number.isNaN(v) ? boundsMs.length : expectedBucket(boundsMs, v);
      const got = bucketOf(series, v);
      if (got !== want) throw new Error(`value ${v} ms: bucket ${got}, expected ${want}`);
    }
    expect(series.count).toBe(values.length);
  });

  test('doubling bounds that are not the defaults (1, 2, 4, 8 ms) and a single bound', () => {
    const series = new HistogramSeries(Float64Array.from([1, 2, 4, 8]), true);
    expect([0.5, 1, 1.0001, 2, 3, 4, 8, 8.0001, 1e9].map((v) => bucketOf(series, v))).toEqual([
      0, 0, 1, 1, 2, 2, 3, 4, 4,
    ]);
    const one = new HistogramSeries(Float64Array.from([1]), true);
    expect([0, 1, 1.5, NaN].map((v) => bucketOf(one, v))).toEqual([0, 0, 1, 1]);
  });
});
