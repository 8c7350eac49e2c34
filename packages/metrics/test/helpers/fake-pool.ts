import { EventEmitter } from 'node:events';
import type { ErrorCode, PoolStats, TaskObserver } from '@wasmpool/pool';

/** A stand-in for WasmPool: settable stats, real events, counted calls. */
export class FakePool extends EventEmitter {
  statsCalls = 0;
  modulesCalls = 0;
  names = ['math', 'faults'];
  current: PoolStats = {
    workers: { total: 3, idle: 1, busy: 2, starting: 0 },
    queued: 7,
    running: 2,
    completed: 0,
    failed: 0,
    failures: {},
    workerRestarts: 0,
    runTimeMs: { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 },
    waitTimeMs: { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 },
    utilization: 0.25,
    modules: {
      math: { memoryBytes: 65536 * 3, instances: 3, completed: 0, failed: 0 },
      faults: { memoryBytes: 0, instances: 3, completed: 0, failed: 0 },
    },
  };

  stats(): PoolStats {
    this.statsCalls++;
    return this.current;
  }

  modules(): { name: string }[] {
    this.modulesCalls++;
    return this.names.map((name) => ({ name }));
  }

  /** Emits taskComplete like the pool does; `fuelUsed` (any value) is put on the result when given. */
  complete(
    module: string,
    outcome: string | undefined,
    executionTimeMs: number,
    waitTimeMs: number,
    fuelUsed?: unknown,
  ): void {
    const result =
      outcome === undefined
        ? { id: 't', success: true, output: 1, executionTimeMs }
        : { id: 't', success: false, error: { code: outcome, message: 'x' }, executionTimeMs };
    const metered = fuelUsed === undefined ? result : { ...result, fuelUsed };
    this.emit('taskComplete', metered, { module, function: 'f', waitTimeMs });
  }
}

/** A stand-in for a pool with `observeTasks()`, as WasmPool has: tasks reach the observers directly. */
export class ObservingFakePool extends FakePool {
  readonly observers = new Set<TaskObserver>();

  observeTasks(observer: TaskObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  settle(
    module: string,
    code: ErrorCode | undefined,
    executionTimeMs: number,
    waitTimeMs: number,
    fuelUsed?: number,
  ): void {
    for (const o of this.observers) o.taskSettled(module, code, executionTimeMs, waitTimeMs, fuelUsed);
  }
}
