/**
 * The targets of issue 6 ("beat piscina by an order of magnitude on small tasks") and issue 14 (bytes at
 * every concurrency, columns, one whole batch, metrics that cost nothing), checked on a report.
 */
import type { BenchReport, CaseResult } from './harness';
import type { ContenderName } from './options';

export interface TargetCheck {
  case: string;
  /** The issue that set the target; where both set one for the same case, the stricter (issue 14). */
  issue: 6 | 14;
  target: string;
  /** wasmpool's figures (medians) next to one thread's and piscina's from the same run, where they exist. */
  measured: string;
  /** null when the run did not measure it (workload or contender not selected). */
  met: boolean | null;
}

type Results = Pick<BenchReport, 'results'>;

function median(
  report: Results,
  caseName: string,
  contender: ContenderName,
  metric: string,
): number | undefined {
  const r: CaseResult | undefined = report.results.find(
    (x) => x.case === caseName && x.contender === contender,
  );
  return r?.metrics[metric]?.median;
}

const n0 = (v: number | undefined): string =>
  v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US');
const n2 = (v: number | undefined): string => (v === undefined ? 'n/a' : v.toFixed(2));
const n1 = (v: number | undefined): string => (v === undefined ? 'n/a' : v.toFixed(1));

function all(...conds: (boolean | undefined)[]): boolean | null {
  if (conds.some((c) => c === undefined)) return null;
  return conds.every(Boolean);
}

export function evaluateTargets(report: Results): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const def = (v: number | undefined, f: (x: number) => boolean): boolean | undefined =>
    v === undefined ? undefined : f(v);

  /** wasmpool's tasks/s against piscina's: at least `times` piscina's and at least `floor`. */
  const throughputTarget = (caseName: string, target: string, times: number, floor: number): void => {
    const w = median(report, caseName, 'wasmpool', 'throughput');
    const p = median(report, caseName, 'piscina', 'throughput');
    checks.push({
      case: caseName,
      issue: 6,
      target,
      measured: `wasmpool ${n0(w)}/s, piscina ${n0(p)}/s (${n1(ratio(w, p))}×)`,
      met: all(
        def(w, (v) => p !== undefined && v >= times * p),
        def(w, (v) => v >= floor),
      ),
    });
  };
  throughputTarget('tiny-run', '≥ 10× piscina tasks/s and ≥ 1,000,000 tasks/s', 10, 1_000_000);
  throughputTarget('tiny-batch', '≥ 2× piscina (1,024-task arrays) and ≥ 5,000,000 tasks/s', 2, 5_000_000);

  /**
   * wasmpool's speed-up over one thread (paired per repetition) of at least `times`, shown with the
   * throughputs of wasmpool, one thread and piscina (and piscina's speed-up).
   */
  const speedupTarget = (issue: 6 | 14, caseName: string, times: number, unit: string, how = ''): void => {
    const w = median(report, caseName, 'wasmpool', 'speedup');
    const p = median(report, caseName, 'piscina', 'speedup');
    const tw = median(report, caseName, 'wasmpool', 'throughput');
    const ts = median(report, caseName, 'single', 'throughput');
    const tp = median(report, caseName, 'piscina', 'throughput');
    checks.push({
      case: caseName,
      issue,
      target: `≥ ${times}× one thread's ${unit}${how}`,
      measured:
        `wasmpool ${n0(tw)} ${unit} = ${n2(w)}× one thread (${n0(ts)} ${unit}); ` +
        `piscina ${n0(tp)} ${unit} = ${n2(p)}×`,
      met: all(def(w, (v) => v >= times)),
    });
  };
  speedupTarget(6, 'cpu', 1.8, 'tasks/s');

  const l50W = median(report, 'latency', 'wasmpool', 'p50');
  const l99W = median(report, 'latency', 'wasmpool', 'p99');
  const l50P = median(report, 'latency', 'piscina', 'p50');
  const l99P = median(report, 'latency', 'piscina', 'p99');
  checks.push({
    case: 'latency',
    issue: 6,
    target: "p50 ≤ 20 µs, p99 ≤ 60 µs, both below piscina's",
    measured: `wasmpool p50 ${n1(l50W)} µs / p99 ${n1(l99W)} µs; piscina p50 ${n1(l50P)} µs / p99 ${n1(l99P)} µs`,
    met: all(
      def(l50W, (w) => w <= 20),
      def(l99W, (w) => w <= 60),
      def(l50W, (w) => l50P !== undefined && w < l50P),
      def(l99W, (w) => l99P !== undefined && w < l99P),
    ),
  });

  const readyW = median(report, 'cold-start', 'wasmpool', 'readyMs');
  const firstP = median(report, 'cold-start', 'piscina', 'firstResultMs');
  checks.push({
    case: 'cold-start',
    issue: 6,
    target: '2 workers with a 1 MiB module ready in < 100 ms',
    measured: `wasmpool create() ${n1(readyW)} ms (first result ${n1(median(report, 'cold-start', 'wasmpool', 'firstResultMs'))} ms); piscina first result ${n1(firstP)} ms`,
    met: all(def(readyW, (w) => w < 100)),
  });

  // Issue 14: bytes at every concurrency, columns, one whole batch, metrics that cost nothing.
  const whole = median(report, 'tiny-batch-whole', 'wasmpool', 'throughput');
  checks.push({
    case: 'tiny-batch-whole',
    issue: 14,
    target: '≥ 5,000,000 tasks/s (one runBatch() of every task)',
    measured: `wasmpool ${n0(whole)} tasks/s; one thread ${n0(median(report, 'tiny-batch-whole', 'single', 'throughput'))} tasks/s; piscina has no such call`,
    met: all(def(whole, (v) => v >= 5_000_000)),
  });
  speedupTarget(14, 'bytes-4KiB', 1.5, 'MB/s', ' (run(), 16 in flight)');
  speedupTarget(14, 'bytes-4KiB-batch', 1.75, 'MB/s', ' (runBatch() of 1,024)');
  // Issue 6 asked 1.7× for 64 KiB; issue 14 raised it to 1.8×: one check, the stricter figure.
  speedupTarget(14, 'bytes-64KiB', 1.8, 'MB/s', ' (issue 6: 1.7×)');
  speedupTarget(14, 'bytes-1MiB', 1.8, 'MB/s');
  speedupTarget(14, 'columns', 1.5, 'rows/s', ' (one runColumns() against a plain loop)');
  for (const shape of ['run', 'batch']) {
    const caseName = `metrics-${shape}-bound`;
    const over = median(report, caseName, 'wasmpool', 'overheadNsPerTask');
    checks.push({
      case: caseName,
      issue: 14,
      target: '≤ 30 ns per task over unbound (main-thread CPU)',
      measured: `${n1(over)} ns per task (unbound ${n0(median(report, `metrics-${shape}-unbound`, 'wasmpool', 'mainNsPerTask'))} ns)`,
      met: all(def(over, (v) => v <= 30)),
    });
  }
  return checks;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a / b;
}
