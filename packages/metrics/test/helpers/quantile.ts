import type { Sample } from './exposition';

/**
 * PromQL's `histogram_quantile(q, ...)` over the `_bucket` samples of one classic histogram series,
 * computed as Prometheus 2.x does (promql/quantile.go, bucketQuantile): buckets sorted by `le`, the
 * `+Inf` bucket required, the rank q × count located in the first bucket whose cumulative count
 * reaches it, and the value interpolated linearly inside that bucket (from 0 for the first one);
 * a rank in the `+Inf` bucket gives the highest finite bound.
 */
export function histogramQuantile(q: number, buckets: readonly Sample[]): number {
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = buckets
    .map((b) => ({ upper: parseBound(b.labels.le), count: b.value }))
    .sort((a, b) => a.upper - b.upper);
  if (sorted.length < 2 || sorted[sorted.length - 1].upper !== Infinity) return NaN;
  // ensureMonotonic: a count lower than the previous bucket's is raised to it
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].count < sorted[i - 1].count) sorted[i].count = sorted[i - 1].count;
  }
  const observations = sorted[sorted.length - 1].count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = 0;
  while (b < sorted.length - 1 && sorted[b].count < rank) b++;
  if (b === sorted.length - 1) return sorted[sorted.length - 2].upper;
  if (b === 0 && sorted[0].upper <= 0) return sorted[0].upper;
  let start = 0;
  let count = sorted[b].count;
  if (b > 0) {
    start = sorted[b - 1].upper;
    count -= sorted[b - 1].count;
    rank -= sorted[b - 1].count;
  }
  return start + (sorted[b].upper - start) * (rank / count);
}

function parseBound(le: string | undefined): number {
  if (le === undefined) throw new Error('a _bucket sample without le');
  if (le === '+Inf') return Infinity;
  const value = Number(le);
  if (!Number.isFinite(value)) throw new Error(`le="${le}" is not a number`);
  return value;
}
