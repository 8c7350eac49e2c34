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

/** Everything a worker needs to instantiate one module version. */
export interface ModuleLoad {
  /** Pool-wide id of this module version; tasks refer to it. */
  id: number;
  name: string;
  module: WebAssembly.Module;
  /** Memory cap of one instance, in 64 KiB pages. */
  maxPages: number;
  importedMemory?: ImportedMemoryPlan;
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
  BYTES: 4 * (5 + 32 + 2 + 4),
} as const;

/**
 * The channel each worker shares with the pool (a SharedArrayBuffer): run messages and results
 * carry their typed arrays in its slots, so that no message allocates (or copies) an ArrayBuffer.
 * Big batches would otherwise allocate tens of MB of them, and growth of that external memory
 * makes V8 start full collections of the whole heap.
 *
 * - Run slots, one per message a worker may hold: `ops` (3 int32 per task) and `args` (f64). The
 *   pool writes a slot, posts the message naming it, and reuses it once every result of that
 *   message has arrived (the worker reads it while it runs the tasks).
 * - Result slots: `times` (2 f64 per task), `values` (f64), `status` (u8). The worker claims a
 *   free one (Status.RESULT_BUSY) for each results message; the pool frees it once it has read it.
 *   When none is free, the arrays travel in the message instead.
 */
export const Channel = {
  /** Tasks a slot holds: the most the pool puts in one message. */
  SLOT_TASKS: 4096,
  /** f64 argument slots of a run slot (a message ends early rather than overflow it). */
  SLOT_ARGS: 16384,
  RUN_SLOTS: 2,
  RESULT_SLOTS: 4,
} as const;

const RUN_SLOT_BYTES = Channel.SLOT_TASKS * 12 + Channel.SLOT_ARGS * 8;
const RESULT_SLOT_BYTES = Channel.SLOT_TASKS * 25;
/** Size of a channel buffer. */
export const CHANNEL_BYTES = Channel.RUN_SLOTS * RUN_SLOT_BYTES + Channel.RESULT_SLOTS * RESULT_SLOT_BYTES;

/** The arrays of run slot `slot`. */
export function runSlotViews(
  channel: SharedArrayBuffer,
  slot: number,
): { ops: Int32Array; args: Float64Array; bigArgs: BigInt64Array } {
  const at = slot * RUN_SLOT_BYTES;
  const argsAt = at + Channel.SLOT_TASKS * 12;
  return {
    ops: new Int32Array(channel, at, Channel.SLOT_TASKS * 3),
    args: new Float64Array(channel, argsAt, Channel.SLOT_ARGS),
    bigArgs: new BigInt64Array(channel, argsAt, Channel.SLOT_ARGS),
  };
}

/** The arrays of result slot `slot`. */
export function resultSlotViews(
  channel: SharedArrayBuffer,
  slot: number,
): { status: Uint8Array; values: Float64Array; bigValues: BigInt64Array; times: Float64Array } {
  const at = Channel.RUN_SLOTS * RUN_SLOT_BYTES + slot * RESULT_SLOT_BYTES;
  const tasks = Channel.SLOT_TASKS;
  return {
    times: new Float64Array(channel, at, tasks * 2),
    values: new Float64Array(channel, at + tasks * 16, tasks),
    bigValues: new BigInt64Array(channel, at + tasks * 16, tasks),
    status: new Uint8Array(channel, at + tasks * 24, tasks),
  };
}

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
 * A batch of tasks, in a run slot of the channel. For task i:
 * - `ops[3i]` module id, `ops[3i+1]` function index, `ops[3i+2]` OutputKind | (arity << 8);
 * - its wasm arguments are the next `arity` slots of `args` (an f64 slot, or an i64 read
 *   through a BigInt64Array over the same buffer);
 * - byte and string arguments come from `refs` as triples (task index, argument slot, data): the data is
 *   copied into the instance's memory and the slot and the next one become (ptr, len). A bigint in
 *   `refs` is an argument of unknown type, passed as it is.
 */
export interface RunMessage {
  type: 'run';
  /** Sequence number of the message; its results name it. */
  seq: number;
  count: number;
  /** The run slot of the channel that holds `ops` and `args`. */
  slot: number;
  refs: (number | bigint | Uint8Array | string)[] | null;
}

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
 * Results of the next `count` tasks of the worker's pipeline, in the order they were sent.
 * - `status[i]`: 0 = success, else error code index + 1 (see codes.ts); the message is the next
 *   string in `refs`;
 * - `values`: the numeric result (f64, or i64 through a BigInt64Array view);
 * - non-numeric outputs (bytes, strings, parsed JSON, arrays) are the next entries of `refs`;
 * - `times[2i]` absolute start time (ms since the epoch), `times[2i+1]` execution time in ms.
 */
export interface ResultsMessage {
  type: 'results';
  /** The run message these results answer, and the position in it of the first of them. */
  seq: number;
  first: number;
  count: number;
  /** The result slot of the channel that holds the arrays, or -1: they are the three below. */
  slot: number;
  status: Uint8Array | null;
  values: Float64Array | null;
  times: Float64Array | null;
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

export type FromWorker = ResultsMessage | ReadyMessage | LoadErrorMessage;
