import EventEmitter from 'eventemitter3';
import { WasmPoolError } from './errors';
import { applyJitSetting } from './jit';
import { resolveOptions, type ResolvedOptions } from './options';
import { checkTask, findFunction } from './tasks/params';
import { ModuleRegistry } from './modules/registry';
import { Scheduler } from './workers/scheduler';
import { BatchBlock, RunBlock, TaskState } from './tasks/task-block';
import type {
  BatchOptions,
  ModuleInfo,
  ModuleSpec,
  PoolEvents,
  PoolStats,
  RunOptions,
  WasmPoolOptions,
  WasmResult,
  WasmTask,
} from './types';
import { checkFuel, checkMeterable } from './tasks/fuel';
import type { Slice } from './tasks/queue';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function checkRunOptions(options: RunOptions | undefined, fallbackTimeoutMs: number): number {
  if (options === undefined) return fallbackTimeoutMs;
  const { timeoutMs, signal } = options;
  if (
    timeoutMs !== undefined &&
    !(Number.isInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= MAX_TIMEOUT_MS)
  ) {
    throw new WasmPoolError(
      'INVALID_PARAMS',
      `timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}; got ${String(timeoutMs)}`,
    );
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new WasmPoolError('INVALID_PARAMS', 'signal must be an AbortSignal');
  }
  return timeoutMs ?? fallbackTimeoutMs;
}

function abortMessage(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
  return why === '' ? 'the task was aborted' : `the task was aborted: ${why}`;
}

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
  private openBlock: RunBlock | undefined;
  private openSlice: Slice | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly options: ResolvedOptions,
    private readonly registry: ModuleRegistry,
  ) {
    super();
    this.scheduler = new Scheduler(options, registry, this);
    this.scheduler.beforeFlush = () => {
      this.openBlock = undefined;
      this.openSlice = undefined;
    };
  }

  /**
   * Validates the options, compiles every module once, and starts `minWorkers` workers; resolves
   * when they are running with every module instantiated.
   */
  static async create(options: WasmPoolOptions = {}): Promise<WasmPool> {
    const resolved = resolveOptions(options);
    applyJitSetting(resolved.enableJit);
    const registry = new ModuleRegistry(resolved.memoryLimitMb);
    const versions = await Promise.all(
      Object.entries(resolved.modules).map(([name, spec]) => registry.prepare(name, spec)),
    );
    for (const version of versions) registry.activate(version);
    const pool = new WasmPool(resolved, registry);
    const starts: Promise<void>[] = [];
    for (let i = 0; i < resolved.minWorkers; i++) starts.push(pool.scheduler.workers.spawn());
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
    try {
      if (this.closing !== undefined) throw new WasmPoolError('POOL_CLOSED', 'the pool is closed');
      const timeoutMs = checkRunOptions(options, this.options.taskTimeoutMs);
      const fuel = checkFuel(options?.fuel, 'fuel', 'INVALID_PARAMS');
      const fn = findFunction(this.registry, task);
      const output = checkTask(task, fn);
      checkMeterable(fn, fuel);
      const signal = options?.signal;
      if (signal?.aborted) throw new WasmPoolError('ABORTED', abortMessage(signal));
      const scheduler = this.scheduler;
      if (scheduler.queued >= this.options.maxQueue) {
        throw new WasmPoolError(
          'QUEUE_FULL',
          `the queue holds ${scheduler.queued} tasks, its limit (maxQueue)`,
        );
      }
      scheduler.workers.retryStarts();
      let block = this.openBlock;
      if (block === undefined) {
        block = this.openBlock = new RunBlock(this.options.taskTimeoutMs, 2);
        this.openSlice = { block, indices: null, start: 0, end: 0 };
        // Grows with each run() of this tick, until the next dispatch seals the block.
        scheduler.queue.pushOpen(this.openSlice);
      }
      const runBlock = block;
      return new Promise<T>((resolve, reject) => {
        const index = runBlock.add(task, fn, output, resolve as (output: unknown) => void, reject);
        if (timeoutMs !== this.options.taskTimeoutMs) (runBlock.timeouts ??= [])[index] = timeoutMs;
        if (fuel !== undefined) (runBlock.fuels ??= [])[index] = fuel;
        if (signal !== undefined) {
          const onAbort = (): void => scheduler.abort(runBlock, index, abortMessage(signal));
          signal.addEventListener('abort', onAbort, { once: true });
          runBlock.onSettle(index, () => signal.removeEventListener('abort', onAbort));
        }
        fn.version.pending++;
        scheduler.queued++;
        this.openSlice!.end = index + 1;
        scheduler.scheduleFlush();
      });
    } catch (error) {
      if (error instanceof WasmPoolError) this.scheduler.refused(task, error);
      return Promise.reject(error as Error);
    }
  }

  /**
   * Runs many tasks; resolves one WasmResult per task, in input order. It never rejects because a
   * task failed: a task that is refused or fails has `success: false` and an `error`. Every task and
   * result of a batch stays alive until it resolves: for throughput, submit arrays of about a
   * thousand tasks, several at a time, rather than one array of a million.
   */
  runBatch<T = unknown>(tasks: readonly WasmTask[], options?: BatchOptions): Promise<WasmResult<T>[]> {
    if (this.closing !== undefined)
      return Promise.reject(new WasmPoolError('POOL_CLOSED', 'the pool is closed'));
    if (!Array.isArray(tasks))
      return Promise.reject(new WasmPoolError('INVALID_PARAMS', 'runBatch takes an array of tasks'));
    let timeoutMs: number;
    let fuel: number | undefined;
    try {
      timeoutMs = checkRunOptions(options, this.options.taskTimeoutMs);
      fuel = checkFuel(options?.fuel, 'fuel', 'INVALID_PARAMS');
      if (options?.onProgress !== undefined && typeof options.onProgress !== 'function') {
        throw new WasmPoolError('INVALID_PARAMS', 'onProgress must be a function');
      }
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const signal = options?.signal;
    const scheduler = this.scheduler;
    scheduler.workers.retryStarts();
    return new Promise<WasmResult<T>[]>((resolve) => {
      let onAbort: (() => void) | undefined;
      // A copy, so that changes to the caller's array do not reach tasks still waiting.
      const block = new BatchBlock(
        timeoutMs,
        tasks.slice(),
        (results) => {
          if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
          resolve(results as WasmResult<T>[]);
        },
        options?.onProgress,
      );
      block.fuel = fuel;
      if (tasks.length === 0) {
        resolve([]);
        return;
      }
      const aborted = signal?.aborted === true;
      let room = this.options.maxQueue - scheduler.queued;
      let accepted = 0;
      let lastModule: unknown;
      let lastFunction: unknown;
      let lastFn: ReturnType<typeof findFunction> | undefined;
      const refused: [number, WasmPoolError][] = [];
      const { fns, outputs, states } = block;
      for (let i = 0; i < block.tasks.length; i++) {
        const task = block.tasks[i] as WasmTask;
        try {
          const id = task?.id;
          if (id !== undefined) {
            if (typeof id !== 'string') throw new WasmPoolError('INVALID_PARAMS', 'task.id must be a string');
            (block.givenIds ??= new Array<string | undefined>(tasks.length))[i] = id;
          }
          let fn = lastFn;
          if (
            typeof task !== 'object' ||
            task === null ||
            task.module !== lastModule ||
            task.function !== lastFunction
          ) {
            fn = findFunction(this.registry, task);
            lastModule = task.module;
            lastFunction = task.function;
            lastFn = fn;
          }
          const output = checkTask(task, fn!);
          checkMeterable(fn!, fuel);
          if (aborted) throw new WasmPoolError('ABORTED', abortMessage(signal!));
          if (room <= 0) {
            throw new WasmPoolError('QUEUE_FULL', `the queue is full (maxQueue ${this.options.maxQueue})`);
          }
          room--;
          fns[i] = fn;
          outputs[i] = output;
          fn!.version.pending++;
          accepted++;
        } catch (error) {
          states[i] = TaskState.settled;
          refused.push([i, error as WasmPoolError]);
        }
      }
      block.unsettled = accepted;
      scheduler.queued += accepted;
      if (accepted > 0) {
        scheduler.queue.push({ block, indices: null, start: 0, end: tasks.length });
        if (signal !== undefined) {
          onAbort = () => scheduler.abortBlock(block, abortMessage(signal));
          signal.addEventListener('abort', onAbort, { once: true });
        }
        scheduler.scheduleFlush();
      }
      for (const [index, error] of refused) scheduler.refusedInBlock(block, index, error);
      if (refused.length > 0) block.flush();
    });
  }

  /**
   * Registers (or replaces) a module while the pool runs. Resolves once every worker has it.
   * Tasks accepted against a replaced version still run on it.
   */
  async registerModule(name: string, spec: ModuleSpec): Promise<ModuleInfo> {
    if (this.closing !== undefined) throw new WasmPoolError('POOL_CLOSED', 'the pool is closed');
    const version = await this.registry.prepare(name, spec);
    await this.scheduler.modules.load(version);
    const previous = this.registry.activate(version);
    if (previous !== undefined) this.scheduler.modules.release(previous);
    return { ...version.info };
  }

  /**
   * Removes a module; tasks already accepted for it still run. Resolves false if no module had
   * that name.
   */
  async unregisterModule(name: string): Promise<boolean> {
    const version = this.registry.deactivate(name);
    if (version === undefined) return false;
    this.scheduler.modules.release(version);
    return true;
  }

  /** The registered modules, with their exports' signatures. */
  modules(): ModuleInfo[] {
    return this.registry.active().map((version) => ({ ...version.info, exports: [...version.info.exports] }));
  }

  /** A snapshot of workers, queue, counters and latencies; cheap enough for every scrape. */
  stats(): PoolStats {
    return this.scheduler.snapshot();
  }

  /** Stops taking tasks, finishes every accepted one, then ends every worker. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.scheduler.closing = true;
      this.scheduler.flush();
      await this.scheduler.whenIdle();
      await this.scheduler.terminateAll();
    })();
    return this.closing;
  }

  /** Fails every queued or running task with POOL_CLOSED and ends every worker now. */
  destroy(): Promise<void> {
    const ending = this.scheduler.terminateAll(new WasmPoolError('POOL_CLOSED', 'the pool was destroyed'));
    this.scheduler.closing = true;
    this.closing ??= ending;
    return ending;
  }
}
