import { Gauge } from 'prom-client';
import type { AnyRegistry } from './source';
import type { PoolStats } from '@wasmpool/pool';
import { perScrape } from './snapshot';

/** Names (without prefix) of the gauges read from `pool.stats()`. */
export const GAUGE_NAMES = [
  'workers',
  'queue_depth',
  'tasks_running',
  'utilization_ratio',
  'wasm_memory_bytes',
  'wasm_instances',
] as const;

const WORKER_STATES = ['idle', 'busy', 'starting'] as const;

/**
 * Registers the gauges that mirror `pool.stats()` at scrape time (prom-client `collect`), with no
 * timers and no work between scrapes. All of them share one `stats()` call per scrape.
 *
 * @returns the created gauges, so that the caller can unregister them.
 */
export function registerStatGauges(
  registry: AnyRegistry,
  prefix: string,
  readStats: () => PoolStats,
): Gauge<string>[] {
  const stats = perScrape(readStats);
  const registers = [registry];

  const workers = new Gauge({
    name: `${prefix}workers`,
    help: 'Worker threads of the pool by state (idle, busy, starting).',
    labelNames: ['state'],
    registers,
    collect() {
      const w = stats().workers;
      for (const state of WORKER_STATES) this.set({ state }, w[state]);
    },
  });

  /** A gauge without labels that reads one number off the scrape's stats. */
  const scalar = (name: string, help: string, read: (stats: PoolStats) => number): Gauge<string> =>
    new Gauge({
      name: `${prefix}${name}`,
      help,
      registers,
      collect() {
        this.set(read(stats()));
      },
    });

  const queueDepth = scalar(
    'queue_depth',
    "Tasks accepted and not started yet: in the pool's queue, or handed to a worker behind its current task.",
    (s) => s.queued,
  );
  const running = scalar(
    'tasks_running',
    'Tasks executing in a worker now (at most one per worker).',
    (s) => s.running,
  );
  const utilization = scalar(
    'utilization_ratio',
    'Busy time of the workers divided by (workers x wall time) since the pool was created, 0 to 1.',
    (s) => s.utilization,
  );

  const memory = new Gauge({
    name: `${prefix}wasm_memory_bytes`,
    help: 'Linear memory held by the live instances of each module, across all workers.',
    labelNames: ['module'],
    registers,
    collect() {
      // reset first so that unregistered modules disappear instead of keeping their last value
      this.reset();
      for (const [module, m] of Object.entries(stats().modules)) this.set({ module }, m.memoryBytes);
    },
  });

  const instances = new Gauge({
    name: `${prefix}wasm_instances`,
    help: 'Live instances of each module, across all workers.',
    labelNames: ['module'],
    registers,
    collect() {
      this.reset();
      for (const [module, m] of Object.entries(stats().modules)) this.set({ module }, m.instances);
    },
  });

  return [workers, queueDepth, running, utilization, memory, instances];
}
