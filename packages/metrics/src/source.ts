import type { PoolEvents, PoolStats, TaskObserver } from '@wasmpool/pool';
import type { OpenMetricsContentType, PrometheusContentType, Registry } from 'prom-client';

/** A prom-client registry of either exposition format. */
export type AnyRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

/** Events of the pool that the metrics listen to. */
export type MetricsEventName = 'taskComplete' | 'workerExit';

/**
 * What the metrics need from a pool. `WasmPool` satisfies it; so can a test double or a wrapper.
 */
export interface MetricsSource {
  /** A cheap snapshot; called once per scrape. */
  stats(): PoolStats;
  /** The registered modules; read only when a task names a module the metrics have not seen yet. */
  modules(): readonly { name: string }[];
  /**
   * Registers a task observer; returns its removal. `WasmPool` has it; without it the metrics
   * listen to `taskComplete` instead, which costs the pool an object per task.
   */
  observeTasks?(observer: TaskObserver): () => void;
  on(event: 'taskComplete', listener: PoolEvents['taskComplete']): unknown;
  on(event: 'workerExit', listener: PoolEvents['workerExit']): unknown;
  off(event: 'taskComplete', listener: PoolEvents['taskComplete']): unknown;
  off(event: 'workerExit', listener: PoolEvents['workerExit']): unknown;
}

/** Whether `value` is an object with a function under each of `names`. */
export function hasMethods(value: unknown, names: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return names.every((name) => typeof record[name] === 'function');
}
