import type EventEmitter from 'eventemitter3';
import { OutputKind, codeOfStatus, type ResultsMessage } from '@wasmpool/worker';
import type { ModuleLoader } from '../modules/module-loader';
import type { FunctionRef } from '../modules/registry';
import type { StatsCollector } from '../stats/stats';
import { BatchBlock, TaskState, type TaskBlock } from './task-block';
import { emitTaskComplete } from './task-events';
import type { PoolEvents } from '../types';
import type { WorkerHandle } from '../workers/worker-handle';

const timeOrigin = performance.timeOrigin;

/** What settling a worker's results needs of the scheduler. */
export interface ResultsHost {
  /** Tasks handed to workers and not settled; lowered by each task settled here. */
  inflight: number;
  readonly stats: StatsCollector;
  readonly modules: ModuleLoader;
  readonly emitter: EventEmitter<PoolEvents>;
}

/**
 * Per-function bookkeeping (learnt run time, module counts), gathered over a run of tasks of one
 * function and applied once.
 */
class FunctionTally {
  private fn: FunctionRef | undefined;
  private tasks = 0;
  private succeeded = 0;
  private totalMs = 0;

  constructor(private readonly modules: ModuleLoader) {}

  add(fn: FunctionRef, tasks: number, succeeded: number, totalMs: number): void {
    if (fn !== this.fn) {
      this.apply();
      this.fn = fn;
    }
    this.tasks += tasks;
    this.succeeded += succeeded;
    this.totalMs += totalMs;
  }

  apply(): void {
    const fn = this.fn;
    if (fn === undefined || this.tasks === 0) return;
    const meanMs = this.totalMs / this.tasks;
    fn.meanRunMs = fn.meanRunMs < 0 ? meanMs : fn.meanRunMs * 0.8 + meanMs * 0.2;
    const version = fn.version;
    version.completed += this.succeeded;
    version.pending -= this.tasks;
    this.modules.release(version);
    this.tasks = 0;
    this.succeeded = 0;
    this.totalMs = 0;
  }
}

/**
 * Settles the tasks a results message reports, in the order they were sent to the worker, each at
 * most once (a task settled meanwhile, by an abort or a timeout, is skipped). Blocks hear of their
 * progress once per message.
 */
export function settleResults(host: ResultsHost, handle: WorkerHandle, message: ResultsMessage): void {
  const { count, refs } = message;
  const views = handle.resultViews(message);
  const { status, values, bigValues, times, fuel } = views;
  const listening = host.emitter.listenerCount('taskComplete') > 0;
  const stats = host.stats;
  const tally = new FunctionTally(host.modules);
  let flushed: TaskBlock | undefined;
  let refPos = 0;
  let k = 0;
  while (k < count) {
    const entry = handle.pipeline[0];
    if (entry === undefined) break;
    const { blocks, ends, indices } = entry;
    let run = 0;
    while (entry.next < indices.length && k < count) {
      while (entry.next >= (ends[run] as number)) run++;
      const block = blocks[run] as TaskBlock;
      // Metered tasks (sandbox) report fuelUsed: the general path.
      if (!listening && block instanceof BatchBlock && !metered(block, indices[entry.next] as number)) {
        // The hot path of big batches: a run of successful numeric results in one loop.
        const taskFn = block.fns[indices[entry.next] as number];
        const end = Math.min(ends[run] as number, entry.next + count - k);
        const settled =
          taskFn === undefined ? 0 : block.settleNumbers(indices, entry.next, end, k, taskFn, views, stats);
        if (settled > 0) {
          tally.add(taskFn!, settled, settled, block.settledMs);
          entry.next += settled;
          k += settled;
          host.inflight -= settled;
          if (block !== flushed) {
            flushed?.flush();
            flushed = block;
          }
          continue;
        }
      }
      const index = indices[entry.next] as number;
      entry.next++;
      const taskStatus = status[k] as number;
      const startedAt = times[2 * k] as number;
      const executionTimeMs = times[2 * k + 1] as number;
      const kind = block.outputs[index];
      const fuelUsed = fuel[k] as number;
      let output: unknown;
      let error: string | undefined;
      if (taskStatus !== 0) error = refs![refPos++] as string;
      else if (kind === OutputKind.number) output = values[k];
      else if (kind === OutputKind.bigint) output = bigValues[k];
      else if (kind !== OutputKind.void) output = refs![refPos++];
      k++;
      if (block.states[index] === TaskState.settled) continue;
      block.states[index] = TaskState.settled;
      block.unsettled--;
      host.inflight--;
      const taskFn = block.fns[index]!;
      const waitTimeMs = startedAt - timeOrigin - block.acceptedAt;
      if (error === undefined) {
        tally.add(taskFn, 1, 1, executionTimeMs);
        stats.recordSuccess(executionTimeMs, waitTimeMs);
        block.succeed(index, output, executionTimeMs);
        if (fuelUsed >= 0) withFuel(block, index, fuelUsed);
        if (listening) {
          emitTaskComplete(
            host.emitter,
            block,
            index,
            waitTimeMs,
            executionTimeMs,
            output,
            undefined,
            undefined,
            fuelUsed,
          );
        }
      } else {
        tally.add(taskFn, 1, 0, executionTimeMs);
        const code = codeOfStatus(taskStatus);
        stats.recordFailure(code, executionTimeMs, waitTimeMs, true);
        taskFn.version.failed++;
        block.fail(index, code, error, executionTimeMs);
        if (fuelUsed >= 0) withFuel(block, index, fuelUsed);
        if (listening) {
          emitTaskComplete(
            host.emitter,
            block,
            index,
            waitTimeMs,
            executionTimeMs,
            undefined,
            code,
            error,
            fuelUsed,
          );
        }
      }
      if (block !== flushed) {
        flushed?.flush();
        flushed = block;
      }
    }
    if (entry.next === indices.length) handle.completeEntry();
  }
  tally.apply();
  flushed?.flush();
}

/** Sandbox: whether the task is metered (its result carries fuelUsed). */
function metered(block: TaskBlock, index: number): boolean {
  return block.fuelOf(index) !== Infinity;
}

/** Sandbox: adds fuelUsed to a batch task's result (run() resolves the output alone). */
function withFuel(block: TaskBlock, index: number, fuelUsed: number): void {
  if (block instanceof BatchBlock) {
    const result = block.results[index];
    if (result !== undefined) result.fuelUsed = fuelUsed;
  }
}
