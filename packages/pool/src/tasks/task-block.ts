import { OutputKind } from '@wasmpool/worker';
import type { ErrorCode } from '../errors';
import { WasmPoolError } from '../errors';
import type { FunctionRef } from '../modules/registry';
import type { StatsCollector } from '../stats/stats';
import type { WasmResult, WasmTask } from '../types';

/** Where a task is. */
export const TaskState = { queued: 0, dispatched: 1, settled: 2 } as const;

/** Generated ids of run() tasks are decimal numbers from this counter, unique in the process. */
let nextTaskId = 1;

/**
 * A batch task without an id is known by its position in the batch. The decimal strings of the
 * positions are made once and shared by every batch (up to POSITION_IDS of them, about 24 bytes
 * each): a fresh string per result costs more than the rest of a tiny task's bookkeeping.
 */
const POSITION_IDS = 1 << 20;
const positionIds: string[] = [];

function positionId(index: number): string {
  if (index >= POSITION_IDS) return String(index);
  // Filled in order, so that the array stays packed whatever order results arrive in.
  while (positionIds.length <= index) positionIds.push(String(positionIds.length));
  return positionIds[index] as string;
}

/**
 * Tasks accepted together: one `runBatch()` call, or the `run()` calls of one tick. Tasks are
 * addressed by their index in the block; the queue and the workers' pipelines hold indices, not
 * per-task objects.
 */
export abstract class TaskBlock {
  abstract readonly tasks: readonly WasmTask[];
  /** The function each task calls; undefined for a task refused at submission. */
  fns: (FunctionRef | undefined)[];
  /** OutputKind of each task. */
  outputs: Uint8Array;
  /** TaskState of each task. */
  states: Uint8Array;
  /** Per-task timeouts, where a task has its own. */
  timeouts: number[] | undefined;
  /** Sandbox: the call's fuel (runBatch), or per task (run), where given; see tasks/fuel.ts. */
  fuel: number | undefined;
  fuels: number[] | undefined;
  /** performance.now() when the block was accepted. */
  readonly acceptedAt = performance.now();
  unsettled = 0;

  constructor(
    readonly timeoutMs: number,
    capacity: number,
  ) {
    this.fns = new Array<FunctionRef | undefined>(capacity);
    this.outputs = new Uint8Array(capacity);
    this.states = new Uint8Array(capacity);
  }

  get size(): number {
    return this.tasks.length;
  }

  /** The task's id: the one it was given, else one generated for it. */
  abstract taskId(index: number): string;

  timeoutOf(index: number): number {
    return this.timeouts?.[index] ?? this.timeoutMs;
  }

  /** The task's fuel: its call's, else its module's; Infinity when it is not metered. */
  fuelOf(index: number): number {
    return this.fuels?.[index] ?? this.fuel ?? this.fns[index]?.version.load.fuel ?? Infinity;
  }

  /** Reports what `succeed()` and `fail()` delivered since the last call (batch progress). */
  flush(): void {}

  /** Delivers a success. The caller has checked that the task was not settled yet. */
  abstract succeed(index: number, output: unknown, executionTimeMs: number): void;
  /** Delivers a failure. The caller has checked that the task was not settled yet. */
  abstract fail(index: number, code: ErrorCode, message: string, executionTimeMs: number): void;
}

/** The tasks of one `runBatch()` call: results in input order, one promise for all. */
export class BatchBlock extends TaskBlock {
  readonly results: WasmResult[];

  constructor(
    timeoutMs: number,
    readonly tasks: readonly WasmTask[],
    private readonly resolve: (results: WasmResult[]) => void,
    private readonly onProgress: ((done: number, total: number) => void) | undefined,
  ) {
    super(timeoutMs, tasks.length);
    this.results = new Array<WasmResult>(tasks.length);
  }

  /** The ids tasks were given, by position (read at submission); undefined when none has one. */
  givenIds: (string | undefined)[] | undefined;
  /** Total run time of the tasks the last `settleNumbers()` settled (ms). */
  settledMs = 0;

  taskId(index: number): string {
    return this.givenIds?.[index] ?? positionId(index);
  }

  /**
   * The hot path of big batches: settles the successful numeric results of function `fn` at
   * `indices[from..to)`, which are results `k, k+1, …` in `views` (a results message's arrays). Stops at the first
   * task that needs the general path (a failure, another output kind or function, a task settled
   * already) and returns how many it settled; `flush()` must follow.
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
    const { states, outputs, fns, results, givenIds } = this;
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
        id: givenIds?.[index] ?? positionId(index),
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

  succeed(index: number, output: unknown, executionTimeMs: number): void {
    this.results[index] = { id: this.taskId(index), success: true, output, executionTimeMs };
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

  override flush(): void {
    if (this.done === this.reported) return;
    this.reported = this.done;
    if (this.onProgress !== undefined) {
      try {
        this.onProgress(this.done, this.results.length);
      } catch {
        // A throwing progress callback must not lose results.
      }
    }
    if (this.done === this.results.length) this.resolve(this.results);
  }

  /** Tasks settled, and how many of them onProgress has been told about. */
  private done = 0;
  private reported = 0;
}

/** The `run()` calls of one tick, each with its own promise. */
export class RunBlock extends TaskBlock {
  readonly tasks: WasmTask[] = [];
  private readonly resolves: ((output: unknown) => void)[] = [];
  private readonly rejects: ((error: WasmPoolError) => void)[] = [];
  private ids = new Float64Array(this.states.length);
  /** Removes a task's abort listener, for tasks given a signal. */
  private cleanups: (() => void)[] | undefined;

  add(
    task: WasmTask,
    fn: FunctionRef,
    output: number,
    resolve: (output: unknown) => void,
    reject: (error: WasmPoolError) => void,
  ): number {
    const index = this.tasks.length;
    if (index === this.states.length) this.grow();
    this.tasks.push(task);
    this.fns[index] = fn;
    this.outputs[index] = output;
    this.ids[index] = nextTaskId++;
    this.resolves.push(resolve);
    this.rejects.push(reject);
    this.unsettled++;
    return index;
  }

  private grow(): void {
    const capacity = this.states.length * 2;
    const outputs = new Uint8Array(capacity);
    outputs.set(this.outputs);
    this.outputs = outputs;
    const states = new Uint8Array(capacity);
    states.set(this.states);
    this.states = states;
    const ids = new Float64Array(capacity);
    ids.set(this.ids);
    this.ids = ids;
  }

  taskId(index: number): string {
    return this.tasks[index]?.id ?? String(this.ids[index]);
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

const noop = (): void => undefined;
