import type { ResultArrays } from './codec';
import type { ColumnsRequest } from './columns';
import type { RealModuleLoad, RealRequest } from './real-module';

/**
 * Messages between the pool (main thread) and its worker threads.
 *
 * Tasks travel in batches encoded as typed arrays: one message carries many tasks and one message
 * brings many results back, so the cost of a message is shared by the tasks in it.
 */

/**
 * A WebAssembly value type as it appears in a function signature; 'unknown' for modules given
 * already compiled, whose bytes (and so types) the JS API hides.
 */
export type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref' | 'unknown';

/** The type of a function, read from the module's type and export sections. */
export interface FunctionSignature {
  params: ValueType[];
  results: ValueType[];
}

/** How a task's return value is read. Numbers are the wire form of the public `output` names. */
export const OutputKind = {
  void: 0,
  number: 1,
  bigint: 2,
  bytes: 3,
  string: 4,
  json: 5,
  /** Several results (multi-value), returned as an array. */
  multi: 6,
  /** Whatever the function returns (its type is unknown). */
  auto: 7,
  /** Rows of a runColumns() call (the task's one ref is a ColumnsRequest); the output is its failed rows. */
  columns: 8,
} as const;
export type OutputKind = (typeof OutputKind)[keyof typeof OutputKind];

/** A memory the module imports; the worker creates it with `maximum` pages at most. */
export interface ImportedMemoryPlan {
  module: string;
  name: string;
  initial: number;
  maximum: number;
  shared: boolean;
}

/**
 * A table the module imports; the worker creates it with `maximum` elements at most, unless the
 * module's host imports provide it (the module's binary then declares `maximum`, so the engine
 * refuses a provided table that could grow past it).
 */
export interface ImportedTablePlan {
  module: string;
  name: string;
  element: 'funcref' | 'externref';
  initial: number;
  maximum: number;
}

/** Everything a worker needs to instantiate one module version. */
export interface ModuleLoad {
  /** Pool-wide id of this module version; tasks refer to it. */
  id: number;
  name: string;
  module: WebAssembly.Module;
  /** Memory cap of one instance, in 64 KiB pages. */
  maxPages: number;
  importedMemory?: ImportedMemoryPlan;
  /** Tables the module imports, in import order. */
  importedTables?: ImportedTablePlan[];
  /** Imports `env.abort(i32, i32, i32, i32)` (AssemblyScript's). */
  importsAbort: boolean;
  /** JS module that creates host imports, loaded inside the worker. */
  hostImports?: string;
  /** Exported functions, indexed as tasks refer to them. */
  functions: { name: string; signature: FunctionSignature }[];
  /**
   * The module brings its own memory, which could not be capped in the binary: a task that leaves it
   * above `maxPages` fails with OUT_OF_MEMORY.
   */
  checkMemoryAfterCall: boolean;
  /** Index in `functions` of `alloc` / `dealloc`, or -1. */
  alloc: number;
  dealloc: number;
  /**
   * The module was rewritten by the pool's instrumenter (sandbox): it imports the meter's check and
   * its refused-grow callback and exports the budget global (see meter.ts). Its running tasks can be stopped
   * without ending the worker, and metered.
   */
  instrumented: boolean;
  /** Sandbox: `ModuleSpec.fuel`, the default fuel of its tasks (read by the pool only). */
  fuel?: number;
  /** WASI, init exports, adapter and AssemblyScript calls (real-module.ts), when the module has any. */
  real?: RealModuleLoad;
}

/** Layout of the status block each worker shares with the pool (a SharedArrayBuffer). */
export const Status = {
  /**
   * Int32 index (Atomics): `(started << 1) | running`, where `started` counts the tasks this worker
   * has begun (wrapping) and `running` is 1 while one of them runs.
   */
  STATE: 0,
  /** Float64 index: absolute time (ms since the epoch, sub-ms precision) the current task started. */
  STARTED_AT: 1,
  /** Int32 index (Atomics): how many cancellations were ever written to the ring below. */
  CANCELS: 4,
  /**
   * Int32 index of a ring of CANCEL_SLOTS task sequence numbers (the value `started` takes when the
   * task starts) that the pool cancelled after sending them: the worker skips those tasks.
   */
  CANCEL_RING: 5,
  CANCEL_SLOTS: 32,
  /** Int32 index (Atomics): bumped and notified by the pool after each message it sends. */
  WAKE: 5 + 32,
  /** Int32 index: 1 while the worker blocks in Atomics.wait on WAKE. */
  WAITING: 5 + 32 + 1,
  /** Int32 indices (Atomics), one per result slot of the channel: 1 while the slot holds results. */
  RESULT_BUSY: 5 + 32 + 2,
  /**
   * Int32 index (Atomics), sandbox: the sequence number of a running task the pool wants stopped;
   * an instrumented module's next check throws ABORTED (see meter.ts).
   */
  INTERRUPT: 5 + 32 + 2 + 4,
  BYTES: 4 * (5 + 32 + 2 + 4 + 1),
} as const;

/** Data given to a new worker. */
export interface WorkerInit {
  workerId: number;
  status: SharedArrayBuffer;
  /** The run and result slots (see Channel). */
  channel: SharedArrayBuffer;
  modules: ModuleLoad[];
  /** Added to the thread's nice value when it starts (Linux; 0 = leave it). */
  niceIncrement: number;
}

/**
 * A batch of tasks, in a run slot of the channel (its layout: `RunSlot` in codec.ts). Byte and
 * string arguments come from `refs` as triples (task index, argument slot, data): the data is
 * copied into the instance's memory and the slot and the next one become (ptr, len). A bigint in
 * `refs` is an argument of unknown type, passed as it is.
 */
export interface RunMessage {
  type: 'run';
  /** Sequence number of the message; its results name it. */
  seq: number;
  count: number;
  /** The run slot of the channel that holds `ops` and `args`. */
  slot: number;
  refs: TaskRef[] | null;
  /**
   * Whether the worker may spin for its next message after this one (see thread.ts): the pool sets
   * it only when the next message should come within microseconds and a core is free for the spin.
   */
  spin: boolean;
}

/** An entry of `RunMessage.refs`: a task index or slot, or an argument; a raw function's request. */
export type TaskRef = number | bigint | Uint8Array | string | RealRequest | ColumnsRequest;

export interface LoadMessage {
  type: 'load';
  modules: ModuleLoad[];
}

export interface UnloadMessage {
  type: 'unload';
  ids: number[];
}

export type ToWorker = RunMessage | LoadMessage | UnloadMessage;

/**
 * Results of `count` tasks of run message `seq`, from its task `first` on, in order (their arrays'
 * layout: `ResultSlot` in codec.ts). A failure's message is the next string in `refs`; non-numeric
 * outputs (bytes, strings, parsed JSON, arrays) are the next entries of `refs`.
 */
export interface ResultsMessage {
  type: 'results';
  /** The run message these results answer, and the position in it of the first of them. */
  seq: number;
  first: number;
  count: number;
  /** The result slot of the channel that holds the arrays, or -1: they are the three below. */
  slot: number;
  /** The results' arrays when they travel in the message (`slot` -1). */
  arrays: ResultArrays | null;
  refs: unknown[] | null;
  /** Linear memory per module id, as [id, bytes, id, bytes, ...], when it changed. */
  memory: Float64Array | null;
  /** JS heap in use, reported now and then. */
  heapBytes: number;
}

export interface ReadyMessage {
  type: 'ready';
  /** Module ids loaded, for acknowledging a `load`. */
  loaded: number[];
  /** Linear memory per module id, as in ResultsMessage. */
  memory: Float64Array | null;
}

export interface LoadErrorMessage {
  type: 'load-error';
  moduleId: number;
  name: string;
  message: string;
}

/** Sent before the worker instantiates a module version: the pool times the instantiation. */
export interface InstantiatingMessage {
  type: 'instantiating';
  moduleId: number;
  name: string;
}

export type FromWorker = ResultsMessage | ReadyMessage | LoadErrorMessage | InstantiatingMessage;
