import type { ModuleVersion } from '../modules/registry';
import type { StatsCollector } from './stats';
import type { PoolStats } from '../types';
import type { WorkerHandle } from '../workers/worker-handle';
import { TaskState } from '../tasks/task-block';

/** Task counts of module versions no longer loaded, by module name. */
export type RetiredCounts = Map<string, { completed: number; failed: number }>;

/**
 * `pool.stats()`: workers by state, queued and running tasks (reading each worker's status block),
 * memory and task counts per module, and the collector's counters and latency summaries.
 */
export function snapshotPool(
  handles: Iterable<WorkerHandle>,
  versions: Iterable<ModuleVersion>,
  retired: RetiredCounts,
  stats: StatsCollector,
  poolQueued: number,
): PoolStats {
  let idle = 0;
  let busy = 0;
  let starting = 0;
  let running = 0;
  let handed = 0;
  const memoryById = new Map<number, { bytes: number; instances: number }>();
  for (const handle of handles) {
    if (handle.phase === 'starting') starting++;
    else if (handle.busy) busy++;
    else idle++;
    if (handle.inflight > 0) {
      // Sent to the worker but not started yet counts as queued; only what executes is running. A
      // task that settled meanwhile (cancelled, or timed out while it stops) counts as neither.
      const progress = handle.progress();
      const current = progress.running ? handle.runningTask() : undefined;
      if (current !== undefined && current.block.states[current.index] !== TaskState.settled) running++;
      handed += handle.openUnstarted(progress.started);
    }
    for (const [id, bytes] of handle.memory) {
      const entry = memoryById.get(id) ?? { bytes: 0, instances: 0 };
      entry.bytes += bytes;
      entry.instances++;
      memoryById.set(id, entry);
    }
  }
  const modules: PoolStats['modules'] = {};
  for (const [name, counts] of retired) modules[name] = { memoryBytes: 0, instances: 0, ...counts };
  for (const version of versions) {
    const memory = memoryById.get(version.id);
    const current = modules[version.name] ?? { memoryBytes: 0, instances: 0, completed: 0, failed: 0 };
    current.memoryBytes += memory?.bytes ?? 0;
    current.instances += memory?.instances ?? 0;
    current.completed += version.completed;
    current.failed += version.failed;
    modules[version.name] = current;
  }
  return stats.snapshot({
    workers: { total: idle + busy + starting, idle, busy, starting },
    queued: poolQueued + handed,
    running,
    modules,
  });
}
