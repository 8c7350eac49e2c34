/**
 * Where a workload's CPU goes, per task: the main thread (submitting tasks, settling results) and the rest
 * of the process (the contender's worker threads, and V8's helper threads). The main thread's share is the
 * one that caps a pool's throughput however many cores it has: it is the serial part.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

function readSchedstat(): number | undefined {
  try {
    // The first field is the time the thread ran on a CPU, in ns (Linux; the main thread's id is the pid).
    return Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** Where the main thread's CPU time comes from on this machine. */
export const MAIN_THREAD_CLOCK: 'schedstat' | 'event-loop' =
  readSchedstat() === undefined ? 'event-loop' : 'schedstat';

/**
 * CPU time of the main thread in ns: Linux's per-thread schedstat, which other processes on a busy machine
 * cannot inflate; elsewhere the event loop's active time (wall time, so an upper bound).
 */
export function mainThreadNs(): number {
  if (MAIN_THREAD_CLOCK === 'schedstat') return readSchedstat() as number;
  return performance.eventLoopUtilization().active * 1e6;
}

/** CPU time of the whole process (every thread), in ns. */
export function processNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** CPU time of one measured pass, per task. */
export interface TaskCost {
  /** Main-thread ns per task. */
  mainNs: number;
  /** ns per task of every other thread of the process: the workers, and V8's helpers. */
  workerNs: number;
}

/** Starts measuring; `stop(tasks)` gives the CPU time since, per task. */
export function costMeter(): { stop(tasks: number): TaskCost } {
  const main0 = mainThreadNs();
  const all0 = processNs();
  return {
    stop(tasks) {
      const main = mainThreadNs() - main0;
      const all = processNs() - all0;
      const n = Math.max(1, tasks);
      return { mainNs: main / n, workerNs: Math.max(0, all - main) / n };
    },
  };
}
