import type { ErrorCode } from '../errors';
import { DurationHistogram } from './histogram';
import type { PoolStats } from '../types';

/** Counters and histograms of settled tasks, and the time integral of live workers. */
export class StatsCollector {
  completed = 0;
  failed = 0;
  workerRestarts = 0;
  readonly failures: Partial<Record<ErrorCode, number>> = {};
  readonly runTime = new DurationHistogram();
  readonly waitTime = new DurationHistogram();
  private busyMs = 0;
  private workerMs = 0;
  private workers = 0;
  private workersSince = performance.now();

  recordSuccess(executionTimeMs: number, waitTimeMs: number): void {
    this.completed++;
    this.busyMs += executionTimeMs;
    this.runTime.record(executionTimeMs);
    this.waitTime.record(waitTimeMs < 0 ? 0 : waitTimeMs);
  }

  recordFailure(code: ErrorCode, executionTimeMs: number, waitTimeMs: number, ran: boolean): void {
    this.failed++;
    this.failures[code] = (this.failures[code] ?? 0) + 1;
    if (ran) {
      this.busyMs += executionTimeMs;
      this.runTime.record(executionTimeMs);
      this.waitTime.record(waitTimeMs < 0 ? 0 : waitTimeMs);
    }
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
