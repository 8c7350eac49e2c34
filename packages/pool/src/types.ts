import type { ErrorCode } from './errors';

export type { FunctionSignature, ValueType } from '@wasmpool/worker';
import type { FunctionSignature } from '@wasmpool/worker';
import type { ModuleAbi, WasiOptions } from './modules/real-module-types';
export type { CommandResult, ModuleAbi, WasiOptions } from './modules/real-module-types';

/** Where a module's bytes come from. */
export type ModuleSource = string | URL | Uint8Array | ArrayBuffer | WebAssembly.Module;

/** How a module is registered with the pool. */
export interface ModuleSpec {
  /**
   * A file path or `file:` URL, the module's bytes, or an already compiled module. A compiled module's
   * bytes are read back in a throwaway worker (through V8's inspector, without instantiating it) and
   * it is then handled as bytes are: typed, capped and compiled again; where they cannot be read back
   * (a Node without the inspector) it is refused, since its memories and tables could not be capped.
   */
  source: ModuleSource;
  /** Linear-memory cap of one instance of this module, in MiB. Defaults to the pool's `memoryLimitMb`. */
  memoryLimitMb?: number;
  /**
   * The most elements each table of this module may hold (defined or imported). A module whose initial
   * table is larger is refused; `table.grow` past it returns -1. Defaults to the pool's `tableLimit`.
   */
  tableLimit?: number;
  /** Expected SHA-256 (hex) of the bytes; registration fails with INTEGRITY_MISMATCH otherwise. */
  sha256?: string;
  /**
   * Path (or `file:` URL) of a JavaScript module loaded inside each worker whose default export (or
   * `createImports` export) is `(context) => WebAssembly.Imports`: host functions this module imports.
   */
  hostImports?: string | URL;
  /**
   * The fuel each task of this module gets unless its call gives its own (see `RunOptions.fuel`).
   * Registering with fuel compiles exact metering into the module, and each metered task starts from
   * the instance as it was made (its state put back, or a new instance), so that its fuel does not
   * depend on earlier tasks.
   */
  fuel?: number;
  /**
   * `false` registers the module as it is, without the checkpoints and grow helpers the pool adds
   * (default `true`). Its timeouts and aborts then end the worker, it takes no fuel, and
   * OUT_OF_MEMORY is known only when its memory is at the cap.
   */
  instrument?: boolean;
  /**
   * WASI preview1 for this module, denied by default (no host files, environment, sockets or
   * descriptors); an object grants more. Its `_start` runs as a command task.
   */
  wasi?: boolean | WasiOptions;
  /** Exports called after every instantiation, after `_initialize` (which is always called when exported). */
  init?: string[];
  /** How bytes and strings cross into the module: allocator names, or `'assemblyscript'`. */
  abi?: ModuleAbi;
  /**
   * Path or `file:` URL of a JS module loaded in each worker whose default export is an object of
   * functions; each becomes a function of this module, called as `fn(instance, ...params)`.
   */
  adapter?: string | URL;
}

/** A registered module, as listed by `pool.modules()`. */
export interface ModuleInfo {
  name: string;
  /** Hex SHA-256 of the bytes as given (before the memory limit was applied). */
  sha256: string;
  /** Size of the bytes in bytes. */
  size: number;
  memoryLimitMb: number;
  /** The most elements each of its tables may hold. */
  tableLimit: number;
  /** Exported functions with their signatures. */
  exports: { name: string; signature: FunctionSignature }[];
  /** Functions the module's adapter adds (called as `fn(instance, ...params)`). */
  adapterFunctions?: string[];
}

/** One call of an exported WebAssembly function. */
export interface WasmTask {
  /**
   * Echoed back in the result. When absent, a `run()` task gets a fresh decimal number, unique in
   * the process; a `runBatch()` task gets its position in the batch (`'0'`, `'1'`, …).
   */
  id?: string;
  /** Name of a registered module. */
  module: string;
  /** Name of an exported function of that module. */
  function: string;
  /** Arguments, checked against the export's signature before the task is queued. */
  params?: TaskParam[];
  /** How to read the return value; default: what the signature returns. */
  output?: OutputType;
  /** WASI command tasks (`function: '_start'`): the program's standard input. */
  stdin?: Uint8Array | string;
  /** WASI command tasks: the arguments after the program name (argv[0] is the module's name). */
  args?: string[];
  /** WASI command tasks: environment variables, on top of those `ModuleSpec.wasi.env` grants. */
  env?: Record<string, string>;
}

export type TaskParam = number | bigint | Uint8Array | string;
export type OutputType = 'number' | 'bigint' | 'bytes' | 'string' | 'json' | 'void';

/** The outcome of one task. */
export interface WasmResult<T = unknown> {
  id: string;
  success: boolean;
  output?: T;
  error?: { code: ErrorCode; message: string };
  /** Time spent inside the worker running this task, in milliseconds. */
  executionTimeMs: number;
  /** Fuel the task used, for metered tasks. */
  fuelUsed?: number;
}

/** Per-call options of `run()`. */
export interface RunOptions {
  /** Aborting it removes a waiting task from the queue or stops a running one (ABORTED). */
  signal?: AbortSignal;
  /** Wall-clock limit of this task in ms, overriding the pool's `taskTimeoutMs`. */
  timeoutMs?: number;
  /**
   * A deterministic budget of work for each task of this call (one unit per function entry and
   * loop iteration), overriding the module's `fuel`; the module must be registered with `fuel`. A
   * task that runs out fails with FUEL_EXHAUSTED; a metered task's result has `fuelUsed`, the same
   * every time.
   */
  fuel?: number;
}

/** Per-call options of `runBatch()`. */
export interface BatchOptions extends RunOptions {
  /** Called as results arrive, with the number settled so far and the batch size. */
  onProgress?: (done: number, total: number) => void;
}

/** A column of `runColumns()`: one typed array per param of the function. */
export type ColumnArray = Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array;

/** What `runColumns()` runs: a numeric function, once per row of its params' columns. */
export interface ColumnsSpec {
  module: string;
  function: string;
  /**
   * One typed array per param, all of one length n: an i32 takes an Int32Array or a Uint32Array, an
   * i64 a BigInt64Array, an f32 or f64 a Float32Array or a Float64Array.
   */
  params: ColumnArray[];
  /** Wall-clock limit of each slice of rows a worker runs in one go (default: the pool's taskTimeoutMs). */
  timeoutMs?: number;
  /** Fuel per row (the module must be registered with `fuel`), spent over each slice: rows × fuel. */
  fuel?: number;
}

/** A row of `runColumns()` that failed. */
export interface RowFailure {
  index: number;
  code: ErrorCode;
  message: string;
}

/** The outcome of `runColumns()`. */
export interface ColumnsResult<V extends ColumnArray = ColumnArray> {
  /** n results of the function's result type (Int32Array, BigInt64Array, Float32Array or Float64Array); 0 for a failed row. */
  values: V;
  /** The rows that failed, by index (empty when all succeeded). */
  failures: RowFailure[];
}

/** Per-call options of `stream()`. */
export interface StreamOptions extends RunOptions {
  /** true (default): results in input order; false: as they complete. */
  ordered?: boolean;
  /** The most tasks held at once (pulled from the source and not yet consumed); default 2048. */
  highWaterMark?: number;
}

/** Summary statistics of a duration, in milliseconds. */
export interface DurationSummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Live state of one registered module. */
export interface ModuleStats {
  /** Linear memory held by the module's live instances across all workers, in bytes. */
  memoryBytes: number;
  /** Live instances across all workers. */
  instances: number;
  completed: number;
  failed: number;
}

/** A snapshot of the pool, cheap enough to take on every scrape. */
export interface PoolStats {
  workers: { total: number; idle: number; busy: number; starting: number };
  /** Accepted tasks not started yet: in the pool's queue or handed to a worker behind its current task. */
  queued: number;
  /** Tasks executing now (at most one per worker). */
  running: number;
  /** Tasks settled successfully since create(). */
  completed: number;
  /** Tasks settled with an error since create() (including those refused at submission). */
  failed: number;
  failures: Partial<Record<ErrorCode, number>>;
  workerRestarts: number;
  runTimeMs: DurationSummary;
  waitTimeMs: DurationSummary;
  /** Busy time / (workers × wall time) since create(), 0..1. */
  utilization: number;
  modules: Record<string, ModuleStats>;
}

/**
 * Why a worker ended. `idle` and `shutdown` are normal; the others mean the worker was replaced
 * (counted in `workerRestarts`).
 */
export type WorkerExitReason =
  'idle' | 'shutdown' | 'recycled' | 'memory' | 'timeout' | 'aborted' | 'crashed' | 'startup-failed';

/** Extra facts about a settled task, given with the `taskComplete` event. */
export interface TaskCompleteInfo {
  module: string;
  function: string;
  /** Time from acceptance to the start of execution (or to settling, if it never ran), in ms. */
  waitTimeMs: number;
}

/**
 * Sees every settled task, synchronously and without an object per task: the cheap alternative to
 * the `taskComplete` event for consumers that aggregate, such as `@wasmpool/metrics`. Register it
 * with `pool.observeTasks()`. A pool with observers keeps its fast path for big batches, which a
 * `taskComplete` listener turns off.
 */
export interface TaskObserver {
  /**
   * Called once for every settled task, on the main thread, while the pool settles it; keep it to a
   * few arithmetic operations. It must not throw (an exception is caught and dropped).
   *
   * @param module - the task's module: a registered module's name, or, for a task refused at
   *   submission, whatever the task named (`String(task.module)`)
   * @param code - undefined for a success, else the failure's error code
   * @param executionTimeMs - time inside the worker (`WasmResult.executionTimeMs`); 0 if it never ran
   * @param waitTimeMs - from acceptance to the start of execution (or to settling, if it never ran);
   *   0 for a task refused at submission
   * @param fuelUsed - the fuel a metered task used; undefined for tasks without fuel
   */
  taskSettled(
    module: string,
    code: ErrorCode | undefined,
    executionTimeMs: number,
    waitTimeMs: number,
    fuelUsed?: number,
  ): void;
}

/** Events emitted by a pool (eventemitter3). */
export interface PoolEvents {
  workerCreate: (workerId: number) => void;
  workerExit: (workerId: number, reason: WorkerExitReason) => void;
  taskComplete: (result: WasmResult, info: TaskCompleteInfo) => void;
  drain: () => void;
  error: (error: Error) => void;
}

/** Worker thread resource limits (JS heap and stack), as for `new Worker(..., { resourceLimits })`. */
export interface WorkerResourceLimits {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

/** Options of `WasmPool.create()`. Unset numeric options fall back to environment variables. */
export interface WasmPoolOptions {
  modules?: Record<string, ModuleSpec>;
  /** Pre-warmed workers (env WASM_INITIAL_WORKERS). */
  minWorkers?: number;
  /** Upper bound on workers (env WASM_MAX_WORKERS). */
  maxWorkers?: number;
  /** Workers above minWorkers idle this long are retired (env WASM_IDLE_TIMEOUT_SECS). */
  idleTimeoutMs?: number;
  /** Waiting tasks beyond this are refused with QUEUE_FULL (env WASM_MAX_QUEUE). */
  maxQueue?: number;
  /** Wall-clock limit of one task (env WASM_TASK_TIMEOUT_MS). */
  taskTimeoutMs?: number;
  /** Default linear-memory cap of one instance, MiB (env WASM_MAX_MEMORY_MB). */
  memoryLimitMb?: number;
  /** Recycle a worker after this many tasks; 0 = never. */
  maxTasksPerWorker?: number;
  /** false: baseline compiler only (env WASM_ENABLE_JIT). */
  enableJit?: boolean;
  /**
   * JS heap and stack limits of each worker thread. `maxOldGenerationSizeMb` defaults to 512: a worker
   * that exhausts its heap then ends alone (its task fails with WORKER_CRASHED) instead of the process.
   */
  resourceLimits?: WorkerResourceLimits;
  /** Default most elements of one table of an instance (0–10,000,000; default 10,000). */
  tableLimit?: number;
  /**
   * Limit of one instantiation of a module in a worker, start function and `_initialize` included
   * (ms; default 5,000). A module that does not instantiate in time is refused with INVALID_MODULE.
   */
  instantiateTimeoutMs?: number;
  /** Retire a worker whose JS heap plus wasm memory passes this many MiB; 0 = never. */
  workerMemoryLimitMb?: number;
  /** A worker that is not ready this long after it was started counts as failed to start. */
  workerStartTimeoutMs?: number;
  /**
   * Added to each worker thread's nice value (0–19; 0 = the process's priority). A positive value
   * lets the main thread, which encodes tasks and settles results, preempt the workers instead of
   * being preempted by them when there are no more cores than workers. Linux only; elsewhere it
   * has no effect.
   */
  niceIncrement?: number;
}
