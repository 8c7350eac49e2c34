/** The targets of issue 6 ("beat piscina by an order of magnitude on small tasks"), checked on a report. */
import type { BenchReport, CaseResult } from './harness';
import type { ContenderName } from './options';

export interface TargetCheck {
  case: string;
  target: string;
  /** wasmpool's figures (medians) next to piscina's from the same run. */
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

  const cpuW = median(report, 'cpu', 'wasmpool', 'speedup');
  const cpuP = median(report, 'cpu', 'piscina', 'speedup');
  checks.push({
    case: 'cpu',
    target: '≥ 1.8× one thread',
    measured: `wasmpool ${n2(cpuW)}×, piscina ${n2(cpuP)}× one thread`,
    met: all(def(cpuW, (w) => w >= 1.8)),
  });

  const byW = median(report, 'bytes-64KiB', 'wasmpool', 'speedup');
  const byP = median(report, 'bytes-64KiB', 'piscina', 'speedup');
  checks.push({
    case: 'bytes-64KiB',
    target: "≥ 1.7× one thread's MB/s",
    measured: `wasmpool ${n2(byW)}×, piscina ${n2(byP)}× one thread (${n0(median(report, 'bytes-64KiB', 'wasmpool', 'throughput'))} vs ${n0(median(report, 'bytes-64KiB', 'piscina', 'throughput'))} MB/s)`,
    met: all(def(byW, (w) => w >= 1.7)),
  });

  // Issue 14: bytes at every concurrency, metrics that cost nothing.
  const bytesTarget = (caseName: string, times: number, how: string): void => {
    const w = median(report, caseName, 'wasmpool', 'speedup');
    const p = median(report, caseName, 'piscina', 'speedup');
    checks.push({
      case: caseName,
      target: `≥ ${times}× one thread's MB/s (${how})`,
      measured: `wasmpool ${n2(w)}×, piscina ${n2(p)}× one thread`,
      met: all(def(w, (v) => v >= times)),
    });
  };
  bytesTarget('bytes-4KiB', 1.5, 'run(), 16 in flight');
  bytesTarget('bytes-4KiB-batch', 1.75, 'runBatch() of 1,024');
  for (const shape of ['run', 'batch']) {
    const caseName = `metrics-${shape}-bound`;
    const over = median(report, caseName, 'wasmpool', 'overheadNsPerTask');
    checks.push({
      case: caseName,
      target: '≤ 30 ns per task over unbound (main-thread CPU)',
      measured: `${n1(over)} ns per task (unbound ${n0(median(report, `metrics-${shape}-unbound`, 'wasmpool', 'mainNsPerTask'))} ns)`,
      met: all(def(over, (v) => v <= 30)),
    });
  }

  const l50W = median(report, 'latency', 'wasmpool', 'p50');
  const l99W = median(report, 'latency', 'wasmpool', 'p99');
  const l50P = median(report, 'latency', 'piscina', 'p50');
  const l99P = median(report, 'latency', 'piscina', 'p99');
  checks.push({
    case: 'latency',
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
    target: '2 workers with a 1 MiB module ready in < 100 ms',
    measured: `wasmpool create() ${n1(readyW)} ms (first result ${n1(median(report, 'cold-start', 'wasmpool', 'firstResultMs'))} ms); piscina first result ${n1(firstP)} ms`,
    met: all(def(readyW, (w) => w < 100)),
  });
  return checks;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a / b;
}
