import type { ErrorCode } from '../errors';
import { DurationHistogram } from './histogram';
import { TaskObservers, notify } from './task-observers';
import type { PoolStats } from '../types';

/** Counters and histograms of settled tasks, and the time integral of live workers. */
export class StatsCollector {
  completed = 0;
  failed = 0;
  workerRestarts = 0;
  readonly failures: Partial<Record<ErrorCode, number>> = {};
  readonly runTime = new DurationHistogram();
  readonly waitTime = new DurationHistogram();
  /** `pool.observeTasks()`: told of every task recorded here. */
  readonly observers = new TaskObservers();
  private busyMs = 0;
  private workerMs = 0;
  private workers = 0;
  private workersSince = performance.now();

  /** A task that succeeded; `module` is its module's name (for the task observers). */
  recordSuccess(executionTimeMs: number, waitTimeMs: number, module: string, fuelUsed?: number): void {
    const waitMs = waitTimeMs < 0 ? 0 : waitTimeMs;
    this.completed++;
    this.busyMs += executionTimeMs;
    this.runTime.record(executionTimeMs);
    this.waitTime.record(waitMs);
    const observer = this.observers.current;
    if (observer !== undefined) notify(observer, module, undefined, executionTimeMs, waitMs, fuelUsed);
  }

  /**
   * A task that failed; `ran` when it executed (its times enter the latency summaries). `module` is
   * its module's name, or what a refused task named.
   */
  recordFailure(
    code: ErrorCode,
    executionTimeMs: number,
    waitTimeMs: number,
    ran: boolean,
    module: string,
    fuelUsed?: number,
  ): void {
    const waitMs = waitTimeMs < 0 ? 0 : waitTimeMs;
    this.failed++;
    this.failures[code] = (this.failures[code] ?? 0) + 1;
    if (ran) {
      this.busyMs += executionTimeMs;
      this.runTime.record(executionTimeMs);
      this.waitTime.record(waitMs);
    }
    const observer = this.observers.current;
    if (observer !== undefined) notify(observer, module, code, executionTimeMs, waitMs, fuelUsed);
  }

  /** Call whenever the number of running workers changes. */
  setWorkers(count: number): void {
    const now = performance.now();
    this.workerMs += this.workers * (now - this.workersSince);
    this.workers = count;
    this.workersSince = now;
  }

  utilization(): number {
    const workerMs = this.workerMs + this.workers * (performance.now() - this.workersSince);
    return workerMs <= 0 ? 0 : Math.min(1, this.busyMs / workerMs);
  }

  snapshot(live: Pick<PoolStats, 'workers' | 'queued' | 'running' | 'modules'>): PoolStats {
    return {
      ...live,
      completed: this.completed,
      failed: this.failed,
      failures: { ...this.failures },
      workerRestarts: this.workerRestarts,
      runTimeMs: this.runTime.summary(),
      waitTimeMs: this.waitTime.summary(),
      utilization: this.utilization(),
    };
  }
}
