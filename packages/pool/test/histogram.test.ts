import { DurationHistogram } from '../src/stats/histogram';

/** The exact quantile the histogram approximates: the smallest value with at least q of all at or below it. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

describe('DurationHistogram', () => {
  test('an empty histogram summarises to zeros', () => {
    expect(new DurationHistogram().summary()).toEqual({ p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  });

  test.each([
    ['sub-microsecond tasks', (i: number) => 0.0002 + (i % 97) * 0.00001],
    ['a log-uniform spread from 1 µs to 10 s', (i: number) => 1e-3 * 10 ** ((i % 1000) / 142.85)],
    [
      'a bimodal mix of 0.5 ms and 40 ms',
      (i: number) => (i % 10 === 0 ? 40 + (i % 7) : 0.5 + (i % 13) * 0.01),
    ],
  ])('quantiles of %s are within one bucket (6.25 %%) above the exact ones', (_name, value) => {
    const histogram = new DurationHistogram();
    const values: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const ms = value(i);
      values.push(ms);
      histogram.record(ms);
    }
    values.sort((a, b) => a - b);
    const summary = histogram.summary();
    for (const [q, got] of [
      [0.5, summary.p50],
      [0.9, summary.p90],
      [0.99, summary.p99],
    ] as const) {
      const exact = exactQuantile(values, q);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got).toBeLessThanOrEqual(exact * 1.0625 + 1e-12);
    }
    expect(summary.max).toBe(values[values.length - 1]);
    expect(summary.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 9);
  });

  test('durations below 61 ns, zero and negative ones share the first bucket; huge ones the last', () => {
    const histogram = new DurationHistogram();
    for (const ms of [0, -1, 1e-9, 2 ** -15]) histogram.record(ms);
    expect(histogram.summary().p99).toBe(2 ** -15);
    histogram.record(1e12);
    histogram.record(1e12);
    histogram.record(1e12);
    histogram.record(1e12);
    histogram.record(1e12);
    expect(histogram.summary().p90).toBe(1e12);
    expect(histogram.summary().max).toBe(1e12);
  });
});
