/** Measured passes of the paired workloads (metrics bound and unbound, sandbox on and off). */
import { performance } from 'node:perf_hooks';
import { costMeter, type TaskCost } from './cpu-cost';
import type { Figure } from './harness';
import { summarize } from './stats';

/** One pass: its tasks per second and its CPU per task. */
export interface Pass extends TaskCost {
  tasksPerSecond: number;
}

/** Runs one pass of `n` tasks, timed and with its CPU per task; `check` verifies its answers after (untimed). */
export async function measurePass(n: number, run: () => Promise<void>, check: () => void): Promise<Pass> {
  const meter = costMeter();
  const t0 = performance.now();
  await run();
  const seconds = (performance.now() - t0) / 1000;
  const cost = meter.stop(n);
  check();
  return { ...cost, tasksPerSecond: n / seconds };
}

export const figure = (samples: number[], unit: string, better: 'higher' | 'lower'): Figure => ({
  ...summarize(samples),
  unit,
  better,
});

/** The figures every throughput case reports, over the passes of one case. */
export function passFigures(passes: readonly Pass[]): Record<string, Figure> {
  return {
    throughput: figure(
      passes.map((p) => p.tasksPerSecond),
      'tasks/s',
      'higher',
    ),
    mainNsPerTask: figure(
      passes.map((p) => p.mainNs),
      'ns/task',
      'lower',
    ),
    workerNsPerTask: figure(
      passes.map((p) => p.workerNs),
      'ns/task',
      'lower',
    ),
  };
}
