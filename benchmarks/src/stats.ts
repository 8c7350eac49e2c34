/** Summary of repeated measurements: the median is reported, min/max and the quartiles show the spread. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** First and third quartiles (linear interpolation). */
  q1: number;
  q3: number;
  samples: number[];
}

/** The q-quantile (0..1) of sorted values, interpolated linearly between closest ranks. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (n === 1) return sorted[0];
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantileSorted(sorted, 0.5),
    min: sorted.length > 0 ? sorted[0] : NaN,
    max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
    q1: quantileSorted(sorted, 0.25),
    q3: quantileSorted(sorted, 0.75),
    samples: [...samples],
  };
}

/** Percentiles of a distribution of single measurements (e.g. round trips), sorted in place. */
export function percentiles(values: Float64Array, qs: number[]): number[] {
  values.sort();
  return qs.map((q) => quantileSorted(values, q));
}
