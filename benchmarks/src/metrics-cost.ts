/**
 * The `metrics` workload (wasmpool only): the same tiny `add` tasks with @wasmpool/metrics bound and
 * unbound, alternating within each repetition (bound first, then unbound first, ...) so that drift on a
 * shared machine hits both alike. Two shapes: `run()` calls with tiny-run's tasks in flight, and one
 * `runBatch()` of all the tasks (the pool's fast path for numeric results). What binding costs is the
 * paired difference of the main thread's CPU time per task (`overheadNsPerTask` of the bound case).
 */
import type { Running } from './contenders/types';
import type { Figure } from './harness';
import { figure, measurePass, passFigures, type Pass } from './passes';

export interface MetricsCostOptions {
  /** wasmpool, started with the math module. */
  running: Running;
  /** Tasks per measured pass. */
  tasks: number;
  /** run() calls kept in flight in the run shape. */
  inFlight: number;
  reps: number;
  /** Tasks of the unmeasured warm-up pass of each shape and binding (0: none). */
  warmup: number;
  /** Where the passes write their answers. */
  out: Int32Array;
  /** Checks `out[0..n)` (and clears it); throws CorrectnessError on a wrong answer. */
  check: (n: number) => void;
  log: (line: string) => void;
  record: (caseName: string, metrics: Record<string, Figure>) => void;
}

export async function metricsCost(o: MetricsCostOptions): Promise<void> {
  const { running, out } = o;
  if (running.bindMetrics === undefined) throw new Error('the metrics workload needs wasmpool');
  const bind = running.bindMetrics.bind(running);
  const shapes: { name: string; run: (n: number) => Promise<void> }[] = [
    { name: 'metrics-run', run: (n) => running.tinyRun(n, o.inFlight, out) },
    { name: 'metrics-batch', run: (n) => running.tinyBatch(n, n, 1, out) },
  ];

  const pass = async (run: (n: number) => Promise<void>, n: number, bound: boolean): Promise<Pass> => {
    const unbind = bound ? bind() : undefined; // binding and unbinding stay outside the measured region
    try {
      return await measurePass(
        n,
        () => run(n),
        () => o.check(n),
      );
    } finally {
      unbind?.();
    }
  };

  for (const shape of shapes) {
    // Two rounds: the switch from unbound to bound (and back) re-optimizes the pool's settling code once;
    // that must happen here, not in the first measured pass.
    for (let round = 0; o.warmup > 0 && round < 2; round++) {
      await pass(shape.run, o.warmup, true);
      await pass(shape.run, o.warmup, false);
    }
    const bound: Pass[] = [];
    const unbound: Pass[] = [];
    for (let rep = 0; rep < o.reps; rep++) {
      for (const withMetrics of rep % 2 === 0 ? [true, false] : [false, true]) {
        const p = await pass(shape.run, o.tasks, withMetrics);
        (withMetrics ? bound : unbound).push(p);
        o.log(
          `[${shape.name}] rep ${rep + 1}/${o.reps} ${withMetrics ? 'bound' : 'unbound'}: ` +
            `${Math.round(p.tasksPerSecond).toLocaleString('en-US')} tasks/s, main thread ${p.mainNs.toFixed(0)} ns/task`,
        );
      }
    }
    o.record(`${shape.name}-unbound`, passFigures(unbound));
    o.record(`${shape.name}-bound`, {
      ...passFigures(bound),
      overheadNsPerTask: figure(
        bound.map((p, i) => p.mainNs - unbound[i].mainNs),
        'ns/task',
        'lower',
      ),
    });
  }
}
