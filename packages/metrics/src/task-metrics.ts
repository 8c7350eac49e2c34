import { Counter } from 'prom-client';
import type { TaskCompleteInfo, WasmResult, WorkerExitReason } from '@wasmpool/pool';
import { BucketHistogram, type HistogramSeries } from './histogram';
import { NORMAL_EXIT_REASONS, RESTART_REASONS, UNKNOWN_MODULE, outcomeLabel, reasonLabel } from './labels';
import type { AnyRegistry } from './source';

/** Names (without prefix) of the metrics fed from pool events. */
export const EVENT_METRIC_NAMES = [
  'tasks_total',
  'task_duration_seconds',
  'task_wait_seconds',
  'worker_restarts_total',
  'fuel_consumed_total',
] as const;

interface Incrementer {
  inc(value?: number): void;
}

/** Tasks of one module and outcome not yet added to the prom-client counter. */
interface Tally {
  pending: number;
  child: Incrementer;
}

/** What one module's tasks update, created on its first task and reused afterwards. */
interface ModuleSeries {
  /** The `module` label value: the module's name, or `_unknown`. */
  label: string;
  duration: HistogramSeries;
  wait: HistogramSeries;
  /** By error code; `''` for success. */
  tallies: Map<string, Tally>;
  /** Fuel used by the module's metered tasks, not yet added to the counter (sandbox). */
  fuel: Tally | undefined;
}

/** Settings of {@link TaskMetrics}. */
export interface TaskMetricsConfig {
  registry: AnyRegistry;
  prefix: string;
  durationBuckets: number[];
  waitBuckets: number[];
  /** Names of the modules registered right now; called only on a module name not seen before. */
  moduleNames: () => Iterable<string>;
}

/**
 * Counters and histograms fed from the pool's `taskComplete` and `workerExit` events.
 *
 * The task path only touches plain numbers: two map lookups, a tally increment and two bucket
 * searches (tens of nanoseconds). Tallies are added to the prom-client counter when the registry is
 * collected, and the histograms build their buckets then too. Module labels are restricted to modules
 * the pool knows, so task input cannot create unbounded series.
 */
export class TaskMetrics {
  private readonly tasks: Counter<string>;
  private readonly duration: BucketHistogram;
  private readonly wait: BucketHistogram;
  private readonly restarts: Counter<string>;
  private readonly fuel: Counter<string>;
  private readonly series = new Map<string, ModuleSeries>();
  private readonly tallies: Tally[] = [];
  private readonly restartChildren = new Map<string, Incrementer>();
  private readonly moduleNames: () => Iterable<string>;

  constructor(config: TaskMetricsConfig) {
    const { registry, prefix } = config;
    const registers = [registry];
    const tallies = this.tallies;
    this.moduleNames = config.moduleNames;
    this.tasks = new Counter({
      name: `${prefix}tasks_total`,
      help: 'Settled tasks by module and outcome (success, or the error code in lower case).',
      labelNames: ['module', 'outcome'],
      registers,
      collect() {
        for (const tally of tallies) {
          if (tally.pending > 0) {
            tally.child.inc(tally.pending);
            tally.pending = 0;
          }
        }
      },
    });
    this.duration = new BucketHistogram({
      name: `${prefix}task_duration_seconds`,
      help: 'Time accepted tasks spent executing inside a worker.',
      labelName: 'module',
      buckets: config.durationBuckets,
    });
    this.duration.register(registry);
    this.wait = new BucketHistogram({
      name: `${prefix}task_wait_seconds`,
      help: 'Time accepted tasks waited in the queue before they started (or settled, if they never ran).',
      labelName: 'module',
      buckets: config.waitBuckets,
    });
    this.wait.register(registry);
    this.restarts = new Counter({
      name: `${prefix}worker_restarts_total`,
      help: 'Workers replaced, by reason of the exit (timeout, memory, crashed, recycled, ...).',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of RESTART_REASONS) this.restartChild(reason);
    const series = this.series;
    this.fuel = new Counter({
      name: `${prefix}fuel_consumed_total`,
      help: 'Fuel used by metered tasks (one unit per function entry and loop iteration), by module.',
      labelNames: ['module'],
      registers,
      collect() {
        for (const { fuel } of series.values()) {
          if (fuel !== undefined && fuel.pending > 0) {
            fuel.child.inc(fuel.pending);
            fuel.pending = 0;
          }
        }
      },
    });
  }

  /** Listener of `taskComplete`. */
  readonly onTaskComplete = (result: WasmResult, info: TaskCompleteInfo): void => {
    const code = result.success ? '' : (result.error?.code ?? '');
    const series = this.series.get(info.module) ?? this.newSeries(info.module, code);
    const tally = series.tallies.get(code) ?? this.newTally(series, result.success, code);
    tally.pending++;
    const fuelUsed = result.fuelUsed;
    if (fuelUsed !== undefined && fuelUsed > 0) {
      (series.fuel ??= { pending: 0, child: this.fuel.labels(series.label) }).pending += fuelUsed;
    }
    // A task refused at submission settles with both times exactly 0 (pool contract): it never
    // entered the queue, so it is counted above but kept out of the latency histograms.
    const executionTimeMs = result.executionTimeMs;
    const waitTimeMs = info.waitTimeMs;
    if (!result.success && waitTimeMs === 0 && executionTimeMs === 0) return;
    series.duration.observe(executionTimeMs > 0 ? executionTimeMs / 1000 : 0);
    series.wait.observe(waitTimeMs > 0 ? waitTimeMs / 1000 : 0);
  };

  /** Listener of `workerExit`. */
  readonly onWorkerExit = (_workerId: number, reason: WorkerExitReason): void => {
    if (NORMAL_EXIT_REASONS.has(reason)) return;
    this.restartChild(reasonLabel(reason)).inc();
  };

  private restartChild(reason: string): Incrementer {
    let child = this.restartChildren.get(reason);
    if (child === undefined) {
      child = this.restarts.labels(reason);
      child.inc(0); // expose the series at 0 so that rate() and increase() work from the start
      this.restartChildren.set(reason, child);
    }
    return child;
  }

  private newTally(series: ModuleSeries, success: boolean, code: string): Tally {
    const tally = { pending: 0, child: this.tasks.labels(series.label, outcomeLabel(success, code)) };
    series.tallies.set(code, tally);
    this.tallies.push(tally);
    return tally;
  }

  /** The series of a module seen for the first time: its own if the pool knows it, else `_unknown`. */
  private newSeries(module: string, code: string): ModuleSeries {
    const label = code !== 'MODULE_NOT_FOUND' && this.isRegistered(module) ? module : UNKNOWN_MODULE;
    let series = this.series.get(label);
    if (series === undefined) {
      series = {
        label,
        duration: this.duration.labels(label),
        wait: this.wait.labels(label),
        tallies: new Map(),
        fuel: undefined,
      };
      this.series.set(label, series);
    }
    return series;
  }

  private isRegistered(module: string): boolean {
    if (module === UNKNOWN_MODULE) return false;
    for (const name of this.moduleNames()) if (name === module) return true;
    return false;
  }
}
