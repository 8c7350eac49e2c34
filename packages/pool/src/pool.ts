import EventEmitter from 'eventemitter3';
import { WasmPoolError } from './errors';
import { applyJitSetting } from './jit';
import { ModuleRegistry, type ModuleVersion } from './modules/registry';
import { resolveOptions, type ResolvedOptions } from './options';
import { safeEmit } from './tasks/events';
import { TaskIntake } from './tasks/intake';
import type {
  BatchOptions,
  ColumnArray,
  ColumnsResult,
  ColumnsSpec,
  ModuleInfo,
  ModuleSpec,
  PoolEvents,
  PoolStats,
  RunOptions,
  StreamOptions,
  TaskObserver,
  WasmPoolOptions,
  WasmResult,
  WasmTask,
} from './types';
import { Scheduler } from './workers/scheduler';

/**
 * A pool of worker threads running WebAssembly tasks. Create it with `WasmPool.create()`.
 *
 * @example
 * const pool = await WasmPool.create({ modules: { math: { source: 'math.wasm' } } });
 * const sum = await pool.run({ module: 'math', function: 'add', params: [1, 2] }); // 3
 * await pool.close();
 */
export class WasmPool extends EventEmitter<PoolEvents> {
  private readonly scheduler: Scheduler;
  private readonly intake: TaskIntake;
  private closing: Promise<void> | undefined;
  private destroying: Promise<void> | undefined;

  private constructor(
    options: ResolvedOptions,
    private readonly registry: ModuleRegistry,
  ) {
    super();
    this.scheduler = new Scheduler(options, registry, this, (message) => this.internalError(message));
    this.intake = new TaskIntake(options, registry, this.scheduler, () => this.closing !== undefined);
    // The methods work detached from the pool too: `const { run } = pool`, `.then(pool.close)`,
    // `process.on('SIGTERM', pool.destroy)`.
    this.run = this.run.bind(this);
    this.runBatch = this.runBatch.bind(this);
    this.stream = this.stream.bind(this);
    this.runColumns = this.runColumns.bind(this);
    this.registerModule = this.registerModule.bind(this);
    this.unregisterModule = this.unregisterModule.bind(this);
    this.modules = this.modules.bind(this);
    this.stats = this.stats.bind(this);
    this.observeTasks = this.observeTasks.bind(this);
    this.close = this.close.bind(this);
    this.destroy = this.destroy.bind(this);
  }

  /**
   * A broken invariant of the task ledger (a second settlement, a result for the wrong task): a bug
   * in wasmpool. It is refused where it is found, reported on the `error` event, and thrown under
   * test (NODE_ENV=test) so that no test can pass over it.
   */
  private internalError(message: string): void {
    const error = new Error(`wasmpool internal error: ${message}`);
    safeEmit(this, 'error', error);
    if (process.env.NODE_ENV === 'test') throw error;
  }

  /**
   * Validates the options, compiles every module once, and starts `minWorkers` workers; resolves
   * when they are running with every module instantiated.
   */
  static async create(options: WasmPoolOptions = {}): Promise<WasmPool> {
    const resolved = resolveOptions(options);
    applyJitSetting(resolved.enableJit);
    const registry = new ModuleRegistry(resolved.memoryLimitMb, resolved);
    const versions = await Promise.all(
      Object.entries(resolved.modules).map(([name, spec]) => registry.prepare(name, spec)),
    );
    for (const version of versions) registry.activate(version);
    const pool = new WasmPool(resolved, registry);
    const starts: Promise<void>[] = [];
    for (let i = 0; i < resolved.minWorkers; i++) starts.push(pool.scheduler.spawnWorker());
    const outcomes = await Promise.allSettled(starts);
    const failure = outcomes.find(
      (outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected',
    );
    if (failure !== undefined) {
      await pool.scheduler.terminateAll();
      const message = (failure.reason as Error).message;
      const code = message.includes('cannot be instantiated') ? 'INVALID_MODULE' : 'WORKER_CRASHED';
      throw new WasmPoolError(code, `the pool could not start its workers: ${message}`, {
        cause: failure.reason,
      });
    }
    return pool;
  }

  /** True once close() or destroy() was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Runs one task; resolves its output, rejects with a WasmPoolError (`code`, `taskId`).
   * Calls made in the same tick travel to the workers together.
   */
  run<T = unknown>(task: WasmTask, options?: RunOptions): Promise<T> {
    return this.intake.run<T>(task, options);
  }

  /**
   * Runs many tasks; resolves one WasmResult per task, in input order. It never rejects because a
   * task failed: a task that is refused or fails has `success: false` and an `error`. The array may
   * be of any length: its tasks are read and checked now, and enter the queue as room frees up
   * (`maxQueue` bounds the queue, not the batch); a hole in a sparse array, or an element that
   * cannot be read, is one failed result. Every result stays alive until the batch resolves: a
   * length whose results could not fit in the heap left is refused (INVALID_PARAMS) up front; for
   * results as they come, in flat memory, use `stream()`.
   */
  runBatch<T = unknown>(tasks: readonly WasmTask[], options?: BatchOptions): Promise<WasmResult<T>[]> {
    return this.intake.runBatch<T>(tasks, options);
  }

  /**
   * Runs the tasks of an Iterable or AsyncIterable and yields one WasmResult per task: in input
   * order (`ordered`, the default) or as they complete. Tasks are pulled only while fewer than
   * `highWaterMark` are held, so memory stays bounded whatever the source's length. Leaving the
   * loop early cancels the tasks that have not started. It never throws because a task failed;
   * bad options, a source that is not iterable or a source that throws give a WasmPoolError.
   *
   * @example
   * for await (const result of pool.stream(tasks(), { ordered: false })) console.log(result.output);
   */
  stream<T = unknown>(
    source: Iterable<WasmTask> | AsyncIterable<WasmTask>,
    options?: StreamOptions,
  ): AsyncIterable<WasmResult<T>> {
    return this.intake.stream(source, options) as AsyncIterable<WasmResult<T>>;
  }

  /**
   * Runs a numeric export once per row of its params' columns (one typed array per param, all of
   * one length n) and resolves `{ values, failures }`: `values` a typed array of the n results (of
   * the export's result type; 0 for a failed row), `failures` the rows that failed, by index. The
   * columns are copied once into shared memory, cut into slices of rows that run on the workers
   * like tasks, and the workers write the results straight into one shared array.
   *
   * @example
   * const { values } = await pool.runColumns({ module: 'math', function: 'add', params: [xs, ys] });
   */
  runColumns<V extends ColumnArray = ColumnArray>(spec: ColumnsSpec): Promise<ColumnsResult<V>> {
    return this.intake.runColumns(spec) as Promise<ColumnsResult<V>>;
  }

  /**
   * Registers (or replaces) a module while the pool runs. Resolves once every worker has it.
   * Tasks accepted against a replaced version still run on it. Of the registerModule() and
   * unregisterModule() calls made for one name, the one made last (of those that succeed) decides
   * what the name serves, whichever finishes first: a registration overtaken by a later call still
   * resolves, but its module is not used.
   */
  async registerModule(name: string, spec: ModuleSpec): Promise<ModuleInfo> {
    if (this.closing !== undefined) throw new WasmPoolError('POOL_CLOSED', 'the pool is closed');
    if (typeof name !== 'string' || name.length === 0) {
      throw new WasmPoolError('INVALID_CONFIG', 'a module name must be a non-empty string');
    }
    const call = ++this.nameCalls;
    const version = await this.registry.prepare(name, spec);
    try {
      if (this.closing !== undefined) throw new WasmPoolError('POOL_CLOSED', 'the pool was closed');
      await this.scheduler.loadModule(version);
    } catch (error) {
      // Closed while it loaded: the workers it was loading into are gone, not the module's fault.
      if (this.closing !== undefined) {
        throw new WasmPoolError('POOL_CLOSED', `the pool was closed while module '${name}' was loading`, {
          cause: error,
        });
      }
      throw error;
    }
    if (this.closing !== undefined) throw new WasmPoolError('POOL_CLOSED', 'the pool was closed');
    if (call < (this.decidedCalls.get(name) ?? 0)) {
      // A call for this name made after this one took effect while this one loaded: it stands.
      version.active = false;
      this.scheduler.releaseModule(version);
      return infoCopy(version);
    }
    this.decidedCalls.set(name, call);
    const previous = this.registry.activate(version);
    if (previous !== undefined) this.scheduler.releaseModule(previous);
    return infoCopy(version);
  }

  /** registerModule()/unregisterModule() calls are numbered in the order they are made. */
  private nameCalls = 0;
  /** For each name, the number of the latest call that took effect (an activation or a removal). */
  private readonly decidedCalls = new Map<string, number>();

  /**
   * Removes a module; tasks already accepted for it still run. Resolves false if no module had
   * that name. A registration of the name still under way will not take effect (the last call wins).
   */
  async unregisterModule(name: string): Promise<boolean> {
    if (typeof name !== 'string') return false;
    this.decidedCalls.set(name, ++this.nameCalls);
    const version = this.registry.deactivate(name);
    if (version === undefined) return false;
    this.scheduler.releaseModule(version);
    return true;
  }

  /** The registered modules, with their exports' signatures. */
  modules(): ModuleInfo[] {
    return this.registry.active().map(infoCopy);
  }

  /** A snapshot of workers, queue, counters and latencies; cheap enough for every scrape. */
  stats(): PoolStats {
    return this.scheduler.snapshot();
  }

  /**
   * Tells `observer` of every task settled from now on (`taskSettled(module, code, executionTimeMs,
   * waitTimeMs, fuelUsed)`), synchronously and without an object per task: what metrics should use
   * instead of the `taskComplete` event, which costs an object per task and turns off the fast path
   * of big batches.
   *
   * @returns a function that stops the observation (idempotent).
   */
  observeTasks(observer: TaskObserver): () => void {
    return this.scheduler.observeTasks(observer);
  }

  /** Stops taking tasks, finishes every accepted one, then ends every worker. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const { promise, settle } = deferred();
    // Closed before anything runs: a listener called meanwhile (drain, say) sees a closed pool.
    this.closing = promise;
    this.intake.announceClose();
    settle(this.scheduler.close());
    return promise;
  }

  /** Fails every queued or running task with POOL_CLOSED and ends every worker now. */
  destroy(): Promise<void> {
    // Once is enough: later calls (a listener calling it per task, say) get the same promise.
    if (this.destroying !== undefined) return this.destroying;
    const { promise, settle } = deferred();
    // Set before the teardown, which settles tasks and so calls taskComplete listeners: one that
    // calls destroy() or run() again must find the pool destroyed and closed.
    this.destroying = promise;
    this.closing ??= promise;
    this.intake.announceClose();
    try {
      settle(this.scheduler.destroy());
    } catch (error) {
      settle(Promise.reject(error as Error));
    }
    return promise;
  }
}

/**
 * A module's description as the caller gets it: a deep copy, since its signatures are the ones the
 * pool encodes tasks by (a caller editing what it was given must not change how tasks run).
 */
function infoCopy(version: ModuleVersion): ModuleInfo {
  return structuredClone(version.info);
}

/** A promise settled later by another promise (it takes on that one's outcome). */
function deferred(): { promise: Promise<void>; settle: (outcome: Promise<void>) => void } {
  let settle!: (outcome: Promise<void>) => void;
  const promise = new Promise<void>((resolve) => {
    settle = resolve;
  });
  return { promise, settle };
}
