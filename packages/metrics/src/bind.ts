import { Registry, collectDefaultMetrics } from 'prom-client';
import { DEFAULT_DURATION_BUCKETS, DEFAULT_WAIT_BUCKETS, checkBuckets } from './buckets';
import { GAUGE_NAMES, registerStatGauges } from './gauges';
import { hasMethods, type AnyRegistry, type MetricsSource } from './source';
import { EVENT_METRIC_NAMES, TaskMetrics } from './task-metrics';

/** Options of {@link bindPoolMetrics}. */
export interface BindPoolMetricsOptions<R extends AnyRegistry = Registry> {
  /** Where the metrics are registered; a new `Registry` of their own when absent. */
  registry?: R;
  /**
   * Also register prom-client's default Node.js process metrics (`process_*`, `nodejs_*`, with
   * prom-client's own names) in the same registry. Skipped when the registry already has them.
   * Default false.
   */
  defaultMetrics?: boolean;
  /** Prefix of every metric name. Default `wasmpool_`. */
  prefix?: string;
  /** Histogram bucket upper bounds, in seconds. Default: powers of two from 0.5 µs to 33.6 s ({@link DEFAULT_DURATION_BUCKETS}). */
  buckets?: { duration?: readonly number[]; wait?: readonly number[] };
}

/** A pool bound to a registry. */
export interface PoolMetrics<R extends AnyRegistry = Registry> {
  /** The registry holding the metrics: serve it with `serveMetrics` or your own HTTP server. */
  readonly registry: R;
  /**
   * Stops listening to the pool and removes this binding's metrics (and the default metrics it
   * added) from the registry. Idempotent.
   */
  close(): void;
}

/** The default prefix of metric names. */
export const DEFAULT_PREFIX = 'wasmpool_';

const PREFIX_SHAPE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

/**
 * Exposes a pool's state and task outcomes as Prometheus metrics.
 *
 * Gauges (`workers`, `queue_depth`, `utilization_ratio`, `wasm_memory_bytes`, ...) are read from
 * `pool.stats()` when the registry is scraped; counters and histograms (`tasks_total`,
 * `task_duration_seconds`, `task_wait_seconds`, `fuel_consumed_total`, `worker_restarts_total`) are
 * fed from every settled task (`pool.observeTasks()`) and the pool's `workerExit` event, from the
 * moment of binding. The task path only adds to plain numbers, handed to prom-client at scrape time.
 *
 * One registry holds the metrics of one pool per prefix: binding a second pool to the same registry
 * with the same prefix throws. Give each pool its own registry (the default), or its own prefix.
 *
 * @example
 * const metrics = bindPoolMetrics(pool);
 * const server = await serveMetrics(metrics.registry, { port: 9464 });
 * // ...
 * await server.close();
 * metrics.close();
 */
export function bindPoolMetrics<R extends AnyRegistry = Registry>(
  pool: MetricsSource,
  options: BindPoolMetricsOptions<R> = {},
): PoolMetrics<R> {
  if (!hasMethods(pool, ['stats', 'modules', 'on', 'off'])) {
    throw new TypeError(
      'bindPoolMetrics takes a WasmPool (or an object with stats(), modules(), on() and off())',
    );
  }
  const registry: R = options.registry ?? (new Registry() as R);
  if (
    !hasMethods(registry, ['getSingleMetric', 'getMetricsAsArray', 'registerMetric', 'removeSingleMetric'])
  ) {
    throw new TypeError('registry must be a prom-client Registry');
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !PREFIX_SHAPE.test(prefix)) {
    throw new TypeError(`prefix must match [a-zA-Z_:][a-zA-Z0-9_:]*, got ${JSON.stringify(prefix)}`);
  }
  const durationBuckets = checkBuckets(
    'buckets.duration',
    options.buckets?.duration ?? DEFAULT_DURATION_BUCKETS,
  );
  const waitBuckets = checkBuckets('buckets.wait', options.buckets?.wait ?? DEFAULT_WAIT_BUCKETS);

  for (const name of [...GAUGE_NAMES, ...EVENT_METRIC_NAMES]) {
    if (registry.getSingleMetric(prefix + name) !== undefined) {
      throw new Error(
        `${prefix}${name} is already registered in this registry: a pool is already bound to it. ` +
          'Bind each pool to its own Registry (the default when no registry is given), or give each a different prefix.',
      );
    }
  }

  const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
  const added = (): string[] =>
    registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((name) => !before.has(name));
  let tasks: TaskMetrics;
  try {
    registerStatGauges(registry, prefix, () => pool.stats());
    tasks = new TaskMetrics({
      registry,
      prefix,
      durationBuckets,
      waitBuckets,
      moduleNames: () => pool.modules().map((m) => m.name),
    });
    if (options.defaultMetrics === true && !hasDefaultMetrics(registry)) {
      collectDefaultMetrics({ register: registry });
    }
  } catch (error) {
    for (const name of added()) registry.removeSingleMetric(name); // all or nothing
    throw error;
  }
  const ours = added();

  const unobserve = observeTasks(pool, tasks);
  pool.on('workerExit', tasks.onWorkerExit);

  let closed = false;
  return {
    registry,
    close() {
      if (closed) return;
      closed = true;
      unobserve();
      pool.off('workerExit', tasks.onWorkerExit);
      for (const name of ours) registry.removeSingleMetric(name);
    },
  };
}

/**
 * Feeds `tasks` from every settled task: through `pool.observeTasks()` (no object per task, the
 * pool's fast path for big batches stays on), else through the `taskComplete` event.
 *
 * @returns the function that stops it.
 */
function observeTasks(pool: MetricsSource, tasks: TaskMetrics): () => void {
  if (typeof pool.observeTasks === 'function') return pool.observeTasks(tasks);
  pool.on('taskComplete', tasks.onTaskComplete);
  return () => {
    pool.off('taskComplete', tasks.onTaskComplete);
  };
}

function hasDefaultMetrics(registry: AnyRegistry): boolean {
  return registry.getSingleMetric('process_cpu_seconds_total') !== undefined;
}
