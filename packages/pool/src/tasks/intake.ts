import { getHeapStatistics } from 'node:v8';
import { WasmPoolError, errorText } from '../errors';
import type { ModuleRegistry } from '../modules/registry';
import type { ResolvedOptions } from '../options';
import type { ColumnsResult, WasmResult } from '../types';
import type { Scheduler } from '../workers/scheduler';
import { admitTask, newLookupCache, refusal, type LookupCache } from './admission';
import { ColumnsMemories, prepareColumns } from './columns';
import { checkMeterable } from './fuel';
import { findFunction } from './params';
import { onAbort } from './abort-watch';
import { abortMessage, readCallOptions } from './call-options';
import { streamResults } from './stream';
import { BatchBlock, RunBlock, type ResultsBlock } from './task-block';
import type { Slice } from './queue';

/** The shared result of every hole of a sparse batch (frozen: one object for all of them). */
const HOLE_ERROR = Object.freeze({
  code: 'INVALID_PARAMS' as const,
  message: 'no task at this position (a hole in a sparse array)',
});

/**
 * Where tasks enter the pool: run(), runBatch() and stream() admit their tasks here (admission
 * reads and copies them), hand them to the ledger, and ask the scheduler to dispatch.
 */
export class TaskIntake {
  private openBlock: RunBlock | undefined;
  private openSlice: Slice | undefined;
  private readonly runCache: LookupCache = newLookupCache();
  /** runColumns()'s shared memories, one kept for the next call. */
  private readonly columnMemories = new ColumnsMemories();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly registry: ModuleRegistry,
    private readonly scheduler: Scheduler,
    private readonly isClosed: () => boolean,
  ) {
    scheduler.beforeFlush = () => {
      this.openBlock = undefined;
      this.openSlice = undefined;
    };
  }

  /** True once close() or destroy() was called: no task is accepted any more. */
  get closed(): boolean {
    return this.isClosed();
  }

  /** Streams waiting on a source hear of close() here (they may have nothing else to wake them). */
  private readonly closeListeners = new Set<() => void>();

  /** Calls `listener` when the pool closes; returns its removal. */
  onClose(listener: () => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** The pool was closed or destroyed: tells the listeners. */
  announceClose(): void {
    for (const listener of [...this.closeListeners]) listener();
    this.closeListeners.clear();
  }

  private checkOpen(): void {
    if (this.isClosed()) throw new WasmPoolError('POOL_CLOSED', 'the pool is closed');
  }

  /** One task: resolves its output, rejects with a WasmPoolError. */
  run<T>(task: unknown, options: unknown): Promise<T> {
    const { scheduler } = this;
    const ledger = scheduler.ledger;
    try {
      this.checkOpen();
      const call = readCallOptions(options, this.options.taskTimeoutMs);
      const { signal } = call;
      if (signal?.aborted) throw new WasmPoolError('ABORTED', abortMessage(signal));
      if (ledger.queued >= this.options.maxQueue) {
        throw new WasmPoolError('QUEUE_FULL', `the queue holds ${ledger.queued} tasks, its limit (maxQueue)`);
      }
      let block = this.openBlock;
      if (block === undefined) {
        block = this.openBlock = new RunBlock(this.options.taskTimeoutMs, 2);
        // Grows with each run() of this tick, until the next dispatch seals the block.
        this.openSlice = { block, indices: null, start: 0, end: 0 };
        ledger.queue.pushOpen(this.openSlice);
      }
      const index = block.nextIndex();
      admitTask(this.registry, block, index, task, this.runCache, call.fuel);
      const runBlock = block;
      const promise = new Promise<T>((resolve, reject) => {
        runBlock.add(resolve as (output: unknown) => void, reject);
      });
      if (call.timeoutMs !== this.options.taskTimeoutMs) (block.timeouts ??= [])[index] = call.timeoutMs;
      if (call.fuel !== undefined) (block.fuels ??= [])[index] = call.fuel;
      ledger.acceptQueued(block, index);
      if (signal !== undefined) {
        block.onSettle(
          index,
          onAbort(signal, () => scheduler.recovery.abort(runBlock, index, abortMessage(signal))),
        );
      }
      this.openSlice!.end = index + 1;
      scheduler.workers.retryStarts();
      scheduler.scheduleFlush();
      return promise;
    } catch (error) {
      const failure = asPoolError(error);
      ledger.refused(refusal(task, failure));
      return Promise.reject(failure);
    }
  }

  /** Many tasks: one WasmResult per task, in input order; never rejects because a task failed. */
  runBatch<T>(tasks: unknown, options: unknown): Promise<WasmResult<T>[]> {
    let call;
    let length: number;
    try {
      this.checkOpen();
      if (!Array.isArray(tasks))
        throw new WasmPoolError('INVALID_PARAMS', 'runBatch takes an array of tasks');
      call = readCallOptions(options, this.options.taskTimeoutMs);
      length = batchLength(tasks);
    } catch (error) {
      return Promise.reject(asPoolError(error));
    }
    const list = tasks as readonly unknown[];
    if (length === 0) return Promise.resolve([]);
    const { signal, onProgress } = call;
    const { scheduler } = this;
    return new Promise<WasmResult<T>[]>((resolve) => {
      let stopWatching: (() => void) | undefined;
      const block = new BatchBlock(
        call.timeoutMs,
        length,
        (results) => {
          stopWatching?.();
          resolve(results as WasmResult<T>[]);
        },
        onProgress,
      );
      block.fuel = call.fuel;
      this.admitAll(
        block,
        (i) => list[i],
        (i) => i in list,
        signal,
      );
      if (block.unsettled > 0 && signal !== undefined) {
        stopWatching = onAbort(signal, () => scheduler.recovery.abortBlock(block, abortMessage(signal)));
      }
      block.flush();
    });
  }

  /**
   * Admits the tasks of a batch or stream block (`taskAt(i)` for i < block.size; `present(i)` false
   * for a hole) and hands the accepted ones to the ledger, which feeds them to the queue.
   */
  admitAll(
    block: ResultsBlock,
    taskAt: (index: number) => unknown,
    present: (index: number) => boolean,
    signal: AbortSignal | undefined,
  ): void {
    const { ledger } = this.scheduler;
    const cache = newLookupCache();
    const aborted = signal?.aborted === true ? new WasmPoolError('ABORTED', abortMessage(signal)) : undefined;
    const size = block.size;
    // A block that fits in the queue joins it at once; a bigger one waits and is fed as room frees up.
    const direct = ledger.hasRoomFor(size);
    for (let i = 0; i < size; i++) {
      let raw: unknown;
      try {
        raw = taskAt(i);
        if (raw === undefined && !present(i)) {
          ledger.refusedHole(block, i, HOLE_ERROR);
          continue;
        }
      } catch (error) {
        // A getter or proxy trap of the caller's array threw: this task fails, the others run.
        block.fns[i] = undefined;
        ledger.refusedInBlock(block, i, refusal(undefined, unreadableTask(i, error)));
        continue;
      }
      try {
        admitTask(this.registry, block, i, raw, cache, block.fuel);
        if (aborted !== undefined) throw aborted;
      } catch (error) {
        block.fns[i] = undefined;
        ledger.refusedInBlock(block, i, refusal(raw, asPoolError(error)));
        continue;
      }
      if (direct) ledger.acceptQueued(block, i);
      else ledger.acceptWaiting(block, i);
    }
    if (block.unsettled > 0) {
      if (direct) ledger.enqueue(block);
      else ledger.startFeeding(block);
      this.scheduler.workers.retryStarts();
      this.scheduler.scheduleFlush();
    }
  }

  /**
   * A numeric function over columns of params: the columns are read and copied once (into shared
   * memory), cut into slices of rows, and each slice runs as one task through the ledger.
   */
  runColumns(spec: unknown): Promise<ColumnsResult> {
    let fields: { module: unknown; name: unknown; params: unknown; timeoutMs: unknown; fuel: unknown };
    try {
      this.checkOpen();
      if (typeof spec !== 'object' || spec === null) {
        throw new WasmPoolError('INVALID_PARAMS', 'runColumns takes { module, function, params }');
      }
      try {
        const given = spec as Record<string, unknown>;
        fields = {
          module: given.module,
          name: given.function,
          params: given.params,
          timeoutMs: given.timeoutMs,
          fuel: given.fuel,
        };
      } catch (error) {
        throw new WasmPoolError('INVALID_PARAMS', `reading the runColumns spec threw: ${errorText(error)}`, {
          cause: error,
        });
      }
      const call = readCallOptions(
        { timeoutMs: fields.timeoutMs, fuel: fields.fuel },
        this.options.taskTimeoutMs,
      );
      const fn = findFunction(this.registry, fields.module, fields.name, undefined);
      if (fn.refusal !== undefined) throw new WasmPoolError('FUNCTION_NOT_FOUND', fn.refusal);
      checkMeterable(fn, call.fuel);
      if (fn.real !== undefined) {
        throw new WasmPoolError(
          'INVALID_PARAMS',
          `runColumns takes a plain numeric export; ${fn.label} is not one`,
        );
      }
      return new Promise<ColumnsResult>((resolve) => {
        const { block, requests } = prepareColumns(
          fn,
          fields.params,
          call.timeoutMs,
          this.options.maxWorkers,
          this.columnMemories,
          resolve,
        );
        block.fuel = call.fuel;
        if (requests.length === 0) {
          resolve({ values: block.emptyValues(), failures: [] });
          return;
        }
        const { ledger } = this.scheduler;
        for (let i = 0; i < requests.length; i++) {
          block.admit(i, fn);
          ledger.acceptWaiting(block, i);
        }
        ledger.startFeeding(block);
        this.scheduler.workers.retryStarts();
        this.scheduler.scheduleFlush();
      });
    } catch (error) {
      return Promise.reject(asPoolError(error));
    }
  }

  /** Results of a stream of tasks, pulled as they are consumed. */
  stream(source: unknown, options: unknown): AsyncIterable<WasmResult> {
    this.checkOpen();
    const call = readCallOptions(options, this.options.taskTimeoutMs);
    return streamResults(this, this.scheduler, source, call);
  }
}

function unreadableTask(index: number, error: unknown): WasmPoolError {
  return new WasmPoolError(
    'INVALID_PARAMS',
    `reading task ${index} of the batch threw: ${errorText(error)}`,
    {
      cause: error,
    },
  );
}

/**
 * Heap a batch task holds at least until its batch resolves: its WasmResult, its place in the
 * results array and its id (about 130 bytes measured for 1,000,000 `add` tasks, `--expose-gc`).
 */
const HEAP_BYTES_PER_TASK = 128;
/** Batches longer than this are checked against the heap left (the check costs a few µs). */
const CHECK_HEAP_ABOVE = 1 << 20;
const MiB = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MiB`;

/**
 * The length of a batch's array, read once. A length whose results could not fit in the heap left
 * (a sparse array of 2^32 - 1 holes, or a proxy that says so) is refused before anything is
 * allocated: building them would end the process (V8 aborts when its heap is exhausted).
 */
function batchLength(tasks: readonly unknown[]): number {
  let length: unknown;
  try {
    length = tasks.length;
  } catch (error) {
    throw new WasmPoolError('INVALID_PARAMS', `reading the batch's length threw: ${errorText(error)}`, {
      cause: error,
    });
  }
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > 2 ** 32 - 1) {
    throw new WasmPoolError(
      'INVALID_PARAMS',
      `the batch's length is not an array length: ${errorText(length)}`,
    );
  }
  if (length > CHECK_HEAP_ABOVE) {
    const heap = getHeapStatistics();
    const needed = length * HEAP_BYTES_PER_TASK;
    const left = heap.heap_size_limit - heap.used_heap_size;
    if (needed > left) {
      throw new WasmPoolError(
        'INVALID_PARAMS',
        `a batch of ${length} tasks needs about ${MiB(needed)} of heap for its results, more than ` +
          `the ${MiB(left)} left in this process: split it, or use stream()`,
      );
    }
  }
  return length;
}

/** Any error thrown while admitting is the caller's fault; it reaches the caller as a WasmPoolError. */
function asPoolError(error: unknown): WasmPoolError {
  if (error instanceof WasmPoolError) return error;
  return new WasmPoolError('INVALID_PARAMS', `the task could not be read: ${errorText(error)}`, {
    cause: error,
  });
}
