import { OutputKind } from '@wasmpool/worker';
import type { ErrorCode } from '../errors';
import { WasmPoolError } from '../errors';
import type { FunctionRef } from '../modules/registry';
import type { StatsCollector } from '../stats/stats';
import type { TaskParam, WasmResult } from '../types';

/**
 * Where a task is. Only the ledger (`ledger.ts`) moves a task from one state to the next:
 * waiting (accepted, not in the queue yet: a batch or stream block fed as room frees up) →
 * queued → dispatched (handed to a worker) → settled; dispatched → queued when its worker ends.
 */
export const TaskState = { queued: 0, dispatched: 1, settled: 2, waiting: 3 } as const;

/** Generated ids of run() tasks are decimal numbers from this counter, unique in the process. */
let nextTaskId = 1;

/**
 * A batch or stream task without an id is known by its position. The decimal strings of the
 * positions are made once and shared by every batch (up to POSITION_IDS of them, about 24 bytes
 * each): a fresh string per result costs more than the rest of a tiny task's bookkeeping.
 */
const POSITION_IDS = 1 << 20;
const positionIds: string[] = [];

export function positionId(index: number): string {
  if (index >= POSITION_IDS) return String(index);
  // Filled in order, so that the array stays packed whatever order results arrive in.
  while (positionIds.length <= index) positionIds.push(String(positionIds.length));
  return positionIds[index] as string;
}

/**
 * Tasks accepted together: one `runBatch()` call, a chunk of a stream, or the `run()` calls of one
 * tick. Tasks are addressed by their index in the block; the queue and the workers' pipelines hold
 * indices, not per-task objects. A block holds what admission read from the caller's tasks (once):
 * the function, the output kind, the id given, and the arguments. Arguments of functions that take
 * only i32, f32 and f64 numbers are stored in `args` (no object per task); the others are a
 * private copy of the params in `params`.
 */
export abstract class TaskBlock {
  /** The function each task calls; undefined for a task refused at submission. */
  fns: (FunctionRef | undefined)[];
  /** OutputKind of each task. */
  outputs: Uint8Array;
  /** TaskState of each task. */
  states: Uint8Array;
  /** Where each task's arguments start in `args`, or -1 when they are in `params`. */
  argAt: Int32Array;
  /** Numeric arguments of plain tasks, back to back. */
  args: Float64Array;
  private argEnd = 0;
  /** Copied params of tasks that are not plain, by index. */
  params: (readonly TaskParam[] | undefined)[] | undefined;
  /** Ids given to tasks, by index (undefined when none was given). */
  givenIds: (string | undefined)[] | undefined;
  /** Per-task timeouts, where a task has its own. */
  timeouts: number[] | undefined;
  /** performance.now() when the block was accepted. */
  readonly acceptedAt = performance.now();
  /** Tasks accepted and not settled. Kept by the ledger. */
  unsettled = 0;

  constructor(
    readonly timeoutMs: number,
    capacity: number,
  ) {
    this.fns = new Array<FunctionRef | undefined>(capacity);
    this.outputs = new Uint8Array(capacity);
    this.states = new Uint8Array(capacity);
    this.argAt = new Int32Array(capacity);
    this.args = new Float64Array(Math.max(4, capacity * 2));
  }

  /** Tasks the block holds (accepted or refused). */
  abstract get size(): number;

  /** The task's id: the one it was given, else one generated for it. */
  abstract taskId(index: number): string;

  timeoutOf(index: number): number {
    return this.timeouts?.[index] ?? this.timeoutMs;
  }

  /** Stores a task's plain numeric arguments (already checked). */
  storeArgs(index: number, values: ArrayLike<number>, count: number): void {
    if (this.argEnd + count > this.args.length) {
      const grown = new Float64Array(Math.max(this.args.length * 2, this.argEnd + count));
      grown.set(this.args.subarray(0, this.argEnd));
      this.args = grown;
    }
    const { args } = this;
    const at = this.argEnd;
    for (let i = 0; i < count; i++) args[at + i] = values[i] as number;
    this.argAt[index] = at;
    this.argEnd = at + count;
  }

  /** Stores a task's copied params (already checked). */
  storeParams(index: number, params: readonly TaskParam[]): void {
    this.argAt[index] = -1;
    (this.params ??= [])[index] = params;
  }

  /** Reports what `succeed()` and `fail()` delivered since the last call (batch progress). */
  flush(): void {}

  /** Delivers a success. Only the ledger calls it, once per task. */
  abstract succeed(index: number, output: unknown, executionTimeMs: number, fuelUsed?: number): void;
  /** Delivers a failure. Only the ledger calls it, once per task. */
  abstract fail(index: number, code: ErrorCode, message: string, executionTimeMs: number): void;
}

/**
 * A block that delivers `WasmResult`s (a batch, or a chunk of a stream), with the hot path that
 * settles runs of numeric results in one loop.
 */
export abstract class ResultsBlock extends TaskBlock {
  readonly results: WasmResult[];
  /** Total run time of the tasks the last `settleNumbers()` settled (ms). */
  settledMs = 0;
  /** Tasks settled. */
  done = 0;

  constructor(
    timeoutMs: number,
    readonly length: number,
    /** Position of the block's first task in its batch or stream (ids by position). */
    readonly base: number,
  ) {
    super(timeoutMs, length);
    this.results = new Array<WasmResult>(length);
  }

  get size(): number {
    return this.length;
  }

  taskId(index: number): string {
    return this.givenIds?.[index] ?? positionId(this.base + index);
  }

  /**
   * The hot path of big batches: settles the successful numeric results of function `fn` at
   * `indices[from..to)`, which are results `k, k+1, …` in `views` (a results message's arrays).
   * Stops at the first task that needs the general path (a failure, another output kind or
   * function, a task settled already) and returns how many it settled. Called by the ledger only.
   */
  settleNumbers(
    indices: Int32Array,
    from: number,
    to: number,
    k: number,
    fn: FunctionRef,
    views: { status: Uint8Array; values: Float64Array; times: Float64Array },
    stats: StatsCollector,
  ): number {
    const { states, outputs, fns, results, givenIds, base } = this;
    const { status, values, times } = views;
    const acceptedAt = performance.timeOrigin + this.acceptedAt;
    let totalMs = 0;
    let at = from;
    for (; at < to; at++, k++) {
      const index = indices[at] as number;
      if (
        status[k] !== 0 ||
        outputs[index] !== OutputKind.number ||
        states[index] !== TaskState.dispatched ||
        fns[index] !== fn
      ) {
        break;
      }
      states[index] = TaskState.settled;
      const executionTimeMs = times[2 * k + 1] as number;
      totalMs += executionTimeMs;
      stats.recordSuccess(executionTimeMs, (times[2 * k] as number) - acceptedAt);
      results[index] = {
        id: givenIds?.[index] ?? positionId(base + index),
        success: true,
        output: values[k],
        executionTimeMs,
      };
    }
    const settled = at - from;
    this.unsettled -= settled;
    this.done += settled;
    this.settledMs = totalMs;
    return settled;
  }

  succeed(index: number, output: unknown, executionTimeMs: number, fuelUsed?: number): void {
    const result: WasmResult = { id: this.taskId(index), success: true, output, executionTimeMs };
    if (fuelUsed !== undefined) result.fuelUsed = fuelUsed;
    this.results[index] = result;
    this.done++;
  }

  /** Delivers a failure whose error object is shared with other results (the holes of a sparse batch). */
  failShared(index: number, error: { readonly code: ErrorCode; readonly message: string }): void {
    this.results[index] = { id: this.taskId(index), success: false, error, executionTimeMs: 0 };
    this.done++;
  }

  fail(index: number, code: ErrorCode, message: string, executionTimeMs: number): void {
    this.results[index] = {
      id: this.taskId(index),
      success: false,
      error: { code, message },
      executionTimeMs,
    };
    this.done++;
  }
}

/** The tasks of one `runBatch()` call: results in input order, one promise for all. */
export class BatchBlock extends ResultsBlock {
  constructor(
    timeoutMs: number,
    length: number,
    private readonly resolve: (results: WasmResult[]) => void,
    private readonly onProgress: ((done: number, total: number) => void) | undefined,
  ) {
    super(timeoutMs, length, 0);
  }

  /** How many settled tasks onProgress has been told about. */
  private reported = 0;

  override flush(): void {
    if (this.done === this.reported) return;
    this.reported = this.done;
    if (this.onProgress !== undefined) {
      try {
        this.onProgress(this.done, this.length);
      } catch {
        // A throwing progress callback must not lose results.
      }
    }
    if (this.done === this.length) this.resolve(this.results);
  }
}

/** A chunk of a stream's tasks; the stream hears of each flush and reads `results`. */
export class StreamChunk extends ResultsBlock {
  constructor(
    timeoutMs: number,
    length: number,
    base: number,
    private readonly onSettled: (chunk: StreamChunk) => void,
  ) {
    super(timeoutMs, length, base);
  }

  private reported = 0;
  /** The first result not handed to the consumer yet, and how many were handed. */
  cursor = 0;
  handed = 0;
  /** Results handed out of order (unordered streams). */
  private taken: Uint8Array | undefined;

  override flush(): void {
    if (this.done === this.reported) return;
    this.reported = this.done;
    this.onSettled(this);
  }

  /** Takes result `index` for the consumer (once; the chunk forgets it). */
  hand(index: number): WasmResult {
    const result = this.results[index]!;
    this.results[index] = undefined as never;
    (this.taken ??= new Uint8Array(this.length))[index] = 1;
    this.handed++;
    while (this.cursor < this.length && this.taken[this.cursor] === 1) this.cursor++;
    return result;
  }
}

/** The `run()` calls of one tick, each with its own promise. */
export class RunBlock extends TaskBlock {
  private count = 0;
  private readonly resolves: ((output: unknown) => void)[] = [];
  private readonly rejects: ((error: WasmPoolError) => void)[] = [];
  private ids = new Float64Array(this.states.length);
  /** Removes a task's abort listener, for tasks given a signal. */
  private cleanups: (() => void)[] | undefined;

  get size(): number {
    return this.count;
  }

  /** The index the next task will have, with room made for it (admission writes there first). */
  nextIndex(): number {
    if (this.count === this.states.length) this.grow();
    return this.count;
  }

  /** Adds the task admitted at `nextIndex()`, with its promise's functions. */
  add(resolve: (output: unknown) => void, reject: (error: WasmPoolError) => void): void {
    this.ids[this.count++] = nextTaskId++;
    this.resolves.push(resolve);
    this.rejects.push(reject);
  }

  private grow(): void {
    const capacity = this.states.length * 2;
    this.outputs = grown(new Uint8Array(capacity), this.outputs);
    this.states = grown(new Uint8Array(capacity), this.states);
    this.argAt = grown(new Int32Array(capacity), this.argAt);
    this.ids = grown(new Float64Array(capacity), this.ids);
  }

  taskId(index: number): string {
    return this.givenIds?.[index] ?? String(this.ids[index]);
  }

  onSettle(index: number, cleanup: () => void): void {
    (this.cleanups ??= [])[index] = cleanup;
  }

  succeed(index: number, output: unknown): void {
    const resolve = this.resolves[index]!;
    this.release(index);
    resolve(output);
  }

  fail(index: number, code: ErrorCode, message: string): void {
    const reject = this.rejects[index]!;
    this.release(index);
    reject(new WasmPoolError(code, message, { taskId: this.taskId(index) }));
  }

  private release(index: number): void {
    // Let the promise's functions be collected while the rest of the block is still in flight.
    this.resolves[index] = noop;
    this.rejects[index] = noop;
    const cleanup = this.cleanups?.[index];
    if (cleanup !== undefined) {
      this.cleanups![index] = noop;
      cleanup();
    }
  }
}

function grown<T extends Uint8Array | Int32Array | Float64Array>(into: T, from: T): T {
  into.set(from as never);
  return into;
}

const noop = (): void => undefined;
