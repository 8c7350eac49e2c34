import { EventEmitter } from 'node:events';
import type { PoolStats } from '@wasmpool/pool';

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

  /** Emits taskComplete like the pool does. */
  complete(module: string, outcome: string | undefined, executionTimeMs: number, waitTimeMs: number): void {
    const result =
      outcome === undefined
        ? { id: 't', success: true, output: 1, executionTimeMs }
        : { id: 't', success: false, error: { code: outcome, message: 'x' }, executionTimeMs };
    this.emit('taskComplete', result, { module, function: 'f', waitTimeMs });
  }
}
