import { Counter } from 'prom-client';
import type { ErrorCode, TaskCompleteInfo, TaskObserver, WasmResult, WorkerExitReason } from '@wasmpool/pool';
import { BucketHistogram, type HistogramSeries } from './histogram';
import { NORMAL_EXIT_REASONS, RESTART_REASONS, UNKNOWN_MODULE, outcomeLabel, reasonLabel } from './labels';
import type { AnyRegistry } from './source';

/** Names (without prefix) of the metrics fed from the pool's tasks and worker exits. */
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

/** Tasks of one module and failure code not yet added to the prom-client counter. */
interface Tally {
  pending: number;
  child: Incrementer;
}

/**
 * What one module's tasks update, created on its first task and reused afterwards: plain numbers,
 * handed to prom-client when the registry is collected.
 */
interface ModuleSeries {
  /** The `module` label value: the module's name, or `_unknown`. */
  readonly label: string;
  readonly duration: HistogramSeries;
  readonly wait: HistogramSeries;
  /** Successes not yet added to the counter (the common case, kept out of the failure map). */
  successes: number;
  successChild: Incrementer | undefined;
  /** Failures by error code. */
  readonly failures: Map<string, Tally>;
  /** Fuel of metered tasks not yet added to the counter. */
  fuel: number;
  fuelChild: Incrementer | undefined;
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
 * Counters and histograms fed from every settled task (`pool.observeTasks()`, or the `taskComplete`
 * event of a pool without it) and from `workerExit`.
 *
 * The task path only touches plain numbers: the module's series (the previous task's, or one map
 * lookup), an increment and two bucket searches. Counts and fuel are added to the prom-client
 * counters when the registry is collected, and the histograms build their buckets then too. Module
 * labels are restricted to modules the pool knows, so task input cannot create unbounded series.
 */
export class TaskMetrics implements TaskObserver {
  private readonly tasks: Counter<string>;
  private readonly duration: BucketHistogram;
  private readonly wait: BucketHistogram;
  private readonly restarts: Counter<string>;
  /** By the module name tasks gave, for registered modules only (their number is bounded). */
  private readonly byName = new Map<string, ModuleSeries>();
  /** By label: each registered module's and `_unknown`. */
  private readonly byLabel = new Map<string, ModuleSeries>();
  /** The series of the previous task: consecutive tasks mostly share a module. */
  private lastName: string | undefined;
  private last: ModuleSeries | undefined;
  private readonly restartChildren = new Map<string, Incrementer>();
  private readonly moduleNames: () => Iterable<string>;

  constructor(config: TaskMetricsConfig) {
    const { registry, prefix } = config;
    const registers = [registry];
    const byLabel = this.byLabel;
    this.moduleNames = config.moduleNames;
    this.tasks = new Counter({
      name: `${prefix}tasks_total`,
      help: 'Settled tasks by module and outcome (success, or the error code in lower case).',
      labelNames: ['module', 'outcome'],
      registers,
      collect() {
        for (const series of byLabel.values()) {
          if (series.successes > 0) {
            series.successChild ??= this.labels(series.label, outcomeLabel(true, undefined));
            series.successChild.inc(series.successes);
            series.successes = 0;
          }
          for (const tally of series.failures.values()) {
            if (tally.pending > 0) {
              tally.child.inc(tally.pending);
              tally.pending = 0;
            }
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
    // registered here; fed only at collection, from the series' pending fuel
    new Counter({
      name: `${prefix}fuel_consumed_total`,
      help: 'Fuel used by metered tasks (those run with a fuel budget), by module.',
      labelNames: ['module'],
      registers,
      collect() {
        for (const series of byLabel.values()) {
          if (series.fuel > 0) {
            series.fuelChild ??= this.labels(series.label);
            series.fuelChild.inc(series.fuel);
            series.fuel = 0;
          }
        }
      },
    });
  }

  /** The task observer (`pool.observeTasks()`): one settled task, times in ms. */
  taskSettled(
    module: string,
    code: ErrorCode | undefined,
    executionTimeMs: number,
    waitTimeMs: number,
    fuelUsed?: number,
  ): void {
    let series = this.last;
    if (module !== this.lastName || series === undefined) {
      series = this.byName.get(module) ?? this.newSeries(module, code);
      // An unknown name is not remembered (task input must not grow memory): looked up each time.
      if (series.label !== UNKNOWN_MODULE) {
        this.lastName = module;
        this.last = series;
      }
    }
    if (code === undefined) series.successes++;
    else {
      const tally = series.failures.get(code) ?? this.newTally(series, code);
      tally.pending++;
      // A task refused at submission settles with both times exactly 0 (pool contract): it never
      // entered the queue, so it is counted above but kept out of the latency histograms.
      if (waitTimeMs === 0 && executionTimeMs === 0) return;
    }
    series.duration.observe(executionTimeMs > 0 ? executionTimeMs : 0);
    series.wait.observe(waitTimeMs > 0 ? waitTimeMs : 0);
    if (fuelUsed !== undefined && fuelUsed > 0 && Number.isFinite(fuelUsed)) series.fuel += fuelUsed;
  }

  /** Listener of `taskComplete`, for a pool without `observeTasks()`: the same as {@link taskSettled}. */
  readonly onTaskComplete = (result: WasmResult, info: TaskCompleteInfo): void => {
    // fuelUsed is on metered tasks' results (SPEC "Sandbox"); read defensively, whatever the pool's types
    const fuelUsed = (result as { fuelUsed?: unknown }).fuelUsed;
    this.taskSettled(
      info.module,
      result.success ? undefined : (result.error?.code ?? ('' as ErrorCode)),
      result.executionTimeMs,
      info.waitTimeMs,
      typeof fuelUsed === 'number' ? fuelUsed : undefined,
    );
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

  private newTally(series: ModuleSeries, code: string): Tally {
    const tally = { pending: 0, child: this.tasks.labels(series.label, outcomeLabel(false, code)) };
    series.failures.set(code, tally);
    return tally;
  }

  /** The series of a module name seen for the first time: its own if the pool knows it, else `_unknown`. */
  private newSeries(module: string, code: string | undefined): ModuleSeries {
    const known = code !== 'MODULE_NOT_FOUND' && this.isRegistered(module);
    const label = known ? module : UNKNOWN_MODULE;
    let series = this.byLabel.get(label);
    if (series === undefined) {
      series = {
        label,
        duration: this.duration.labels(label),
        wait: this.wait.labels(label),
        successes: 0,
        successChild: undefined,
        failures: new Map(),
        fuel: 0,
        fuelChild: undefined,
      };
      this.byLabel.set(label, series);
    }
    if (known) this.byName.set(module, series);
    return series;
  }

  private isRegistered(module: string): boolean {
    if (module === UNKNOWN_MODULE) return false;
    for (const name of this.moduleNames()) if (name === module) return true;
    return false;
  }
}
