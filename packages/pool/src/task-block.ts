import type { ErrorCode } from './errors';
import { WasmPoolError } from './errors';
import type { FunctionRef } from './registry';
import type { WasmResult, WasmTask } from './types';

/** Where a task is. */
export const TaskState = { queued: 0, dispatched: 1, settled: 2 } as const;

let nextSerial = 1;

/**
 * Tasks accepted together: one `runBatch()` call, or the `run()` calls of one tick. Tasks are
 * addressed by their index in the block; the queue and the workers' pipelines hold indices, not
 * per-task objects.
 */
export abstract class TaskBlock {
  readonly tasks: WasmTask[] = [];
  /** The function each task calls; undefined for a task refused at submission. */
  readonly fns: (FunctionRef | undefined)[] = [];
  readonly outputs: number[] = [];
  readonly states: number[] = [];
  /** Per-task timeouts, where a task has its own. */
  timeouts: number[] | undefined;
  /** performance.now() when the block was accepted. */
  readonly acceptedAt = performance.now();
  /** Generated task ids are `<serial>-<index>`. */
  readonly serial = nextSerial++;
  unsettled = 0;

  constructor(readonly timeoutMs: number) {}

  get size(): number {
    return this.tasks.length;
  }

  taskId(index: number): string {
    return this.tasks[index]?.id ?? `${this.serial}-${index}`;
  }

  timeoutOf(index: number): number {
    return this.timeouts?.[index] ?? this.timeoutMs;
  }

  /** Delivers a success. The caller has checked that the task was not settled yet. */
  abstract succeed(index: number, output: unknown, executionTimeMs: number): void;
  /** Delivers a failure. The caller has checked that the task was not settled yet. */
  abstract fail(index: number, code: ErrorCode, message: string, executionTimeMs: number): void;
}

/** The tasks of one `runBatch()` call: results in input order, one promise for all. */
export class BatchBlock extends TaskBlock {
  readonly results: WasmResult[];
  private done = 0;

  constructor(
    timeoutMs: number,
    size: number,
    private readonly resolve: (results: WasmResult[]) => void,
    private readonly onProgress: ((done: number, total: number) => void) | undefined,
  ) {
    super(timeoutMs);
    this.results = new Array<WasmResult>(size);
  }

  succeed(index: number, output: unknown, executionTimeMs: number): void {
    this.results[index] = { id: this.taskId(index), success: true, output, executionTimeMs };
    this.progress();
  }

  fail(index: number, code: ErrorCode, message: string, executionTimeMs: number): void {
    this.results[index] = {
      id: this.taskId(index),
      success: false,
      error: { code, message },
      executionTimeMs,
    };
    this.progress();
  }

  private progress(): void {
    this.done++;
    if (this.onProgress !== undefined) {
      try {
        this.onProgress(this.done, this.results.length);
      } catch {
        // A throwing progress callback must not lose results.
      }
    }
    if (this.done === this.results.length) this.resolve(this.results);
  }
}

interface Settler {
  resolve: (output: unknown) => void;
  reject: (error: WasmPoolError) => void;
  /** Removes the abort listener, if any. */
  cleanup: (() => void) | undefined;
}

/** The `run()` calls of one tick, each with its own promise. */
export class RunBlock extends TaskBlock {
  private readonly settlers: Settler[] = [];

  add(task: WasmTask, fn: FunctionRef, output: number, settler: Settler): number {
    const index = this.tasks.length;
    this.tasks.push(task);
    this.fns.push(fn);
    this.outputs.push(output);
    this.states.push(TaskState.queued);
    this.settlers.push(settler);
    this.unsettled++;
    return index;
  }

  succeed(index: number, output: unknown): void {
    const settler = this.release(index);
    settler.resolve(output);
  }

  fail(index: number, code: ErrorCode, message: string): void {
    const settler = this.release(index);
    settler.reject(new WasmPoolError(code, message, { taskId: this.taskId(index) }));
  }

  private release(index: number): Settler {
    const settler = this.settlers[index] as Settler;
    settler.cleanup?.();
    // Let the promise's closures be collected while the rest of the block is still in flight.
    this.settlers[index] = DONE;
    return settler;
  }
}

const DONE: Settler = { resolve: () => undefined, reject: () => undefined, cleanup: undefined };
