import type { ErrorCode } from './errors';

export type { FunctionSignature, ValueType } from '@wasmpool/worker';
import type { FunctionSignature } from '@wasmpool/worker';

/** Where a module's bytes come from. */
export type ModuleSource = string | URL | Uint8Array | ArrayBuffer | WebAssembly.Module;

/** How a module is registered with the pool. */
export interface ModuleSpec {
  /**
   * A file path or `file:` URL, the module's bytes, or an already compiled module. A compiled module
   * hides its types: its exports are known by arity only (types 'unknown', numbers and bigints pass
   * as given), `sha256` cannot be checked, and a memory it defines is checked after each task instead
   * of being capped in the binary.
   */
  source: ModuleSource;
  /** Linear-memory cap of one instance of this module, in MiB. Defaults to the pool's `memoryLimitMb`. */
  memoryLimitMb?: number;
  /** Expected SHA-256 (hex) of the bytes; registration fails with INTEGRITY_MISMATCH otherwise. */
  sha256?: string;
  /**
   * Path (or `file:` URL) of a JavaScript module loaded inside each worker whose default export (or
   * `createImports` export) is `(context) => WebAssembly.Imports`: host functions this module imports.
   */
  hostImports?: string | URL;
}

/** A registered module, as listed by `pool.modules()`. */
export interface ModuleInfo {
  name: string;
  /** Hex SHA-256 of the bytes as given (before the memory limit was applied). */
  sha256: string;
  /** Size of the bytes in bytes. */
  size: number;
  memoryLimitMb: number;
  /** Exported functions with their signatures. */
  exports: { name: string; signature: FunctionSignature }[];
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
}

/** Per-call options of `runBatch()`. */
export interface BatchOptions extends RunOptions {
  /** Called as results arrive, with the number settled so far and the batch size. */
  onProgress?: (done: number, total: number) => void;
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
  /** JS heap and stack limits of each worker thread. */
  resourceLimits?: WorkerResourceLimits;
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
