import type { ErrorCode } from '../errors';
import type { StatsCollector } from '../stats/stats';
import { safeEmit, type PoolEmitter } from '../tasks/events';
import type { TaskLedger } from '../tasks/ledger';
import { TaskState, type TaskBlock } from '../tasks/task-block';
import type { WorkerExitReason } from '../types';
import { blockAt, type RunningTask, type WorkerHandle } from './worker-handle';
import type { Workforce } from './workforce';

const timeOrigin = performance.timeOrigin;

/** A task to settle with a given failure when its worker is taken down. */
interface Target {
  block: TaskBlock;
  index: number;
  code: ErrorCode;
  message: string;
  /** How long it had run, when it was running. */
  ranMs: number;
}

/** What the failure paths need of the scheduler. */
export interface RecoveryHost {
  readonly ledger: TaskLedger;
  readonly workers: Workforce;
  readonly stats: StatsCollector;
  readonly emitter: PoolEmitter;
  readonly destroyed: boolean;
  /** Sends waiting tasks to workers. */
  dispatch(): void;
}

/**
 * The failure paths of the task path: aborts, deadlines, workers that crash or are retired, and
 * the end of the pool. Each settles the tasks it concerns through the ledger; a worker taken out of
 * the pool gives its unreported tasks back to the front of the queue (except the one that caused
 * it), so that no accepted task is lost with it.
 */
export class Recovery {
  constructor(private readonly host: RecoveryHost) {}

  /** Stops every open task of a block (a batch or stream whose signal fired). */
  abortBlock(block: TaskBlock, message: string): void {
    const { ledger } = this.host;
    for (const handle of [...this.host.workers.handles]) {
      const running = handle.runningTask();
      if (running !== undefined && running.block === block)
        this.stopRunning(handle, running, 'ABORTED', message);
      // Its tasks this worker holds but has not started: skipped there.
      else handle.cancel(block, undefined);
    }
    for (let index = 0; index < block.size; index++) {
      if (ledger.isOpen(block, index)) ledger.fail(block, index, 'ABORTED', message);
    }
    block.flush();
    this.afterSettling();
  }

  /** Stops one task: out of the queue if it waits, skipped by its worker if handed, stopped if it runs. */
  abort(block: TaskBlock, index: number, message: string): void {
    this.end(block, index, 'ABORTED', message, true);
  }

  /**
   * Cancels a task that has not started (a stream left early): it fails with `code` if it waits
   * or was handed to a worker that has not started it. Returns false if it runs or has settled.
   */
  cancelUnstarted(block: TaskBlock, index: number, code: ErrorCode, message: string): boolean {
    return this.end(block, index, code, message, false);
  }

  private end(
    block: TaskBlock,
    index: number,
    code: ErrorCode,
    message: string,
    stopRunning: boolean,
  ): boolean {
    const { ledger } = this.host;
    if (!ledger.isOpen(block, index)) return false;
    if (block.states[index] === TaskState.dispatched) {
      for (const handle of this.host.workers.handles) {
        const running = handle.runningTask();
        if (running !== undefined && running.block === block && running.index === index) {
          if (!stopRunning) return false;
          this.stopRunning(handle, running, code, message);
          return true;
        }
        if (!handle.holds(block, index)) continue;
        if (!handle.cancel(block, index)) {
          // It started between the two reads: it runs.
          if (!stopRunning) return false;
          this.stopRunning(
            handle,
            { block, index, startedAt: timeOrigin + performance.now() },
            code,
            message,
          );
          return true;
        }
        break;
      }
    }
    ledger.fail(block, index, code, message);
    block.flush();
    this.afterSettling();
    return true;
  }

  /** The running task passed its deadline. */
  timeout(handle: WorkerHandle, task: RunningTask): void {
    const limit = task.block.timeoutOf(task.index);
    const ranMs = ranSince(task);
    this.retire(handle, 'timeout', {
      ...task,
      ranMs,
      code: 'TIMEOUT',
      message: `the task ran for ${ranMs.toFixed(1)} ms, past its limit of ${limit} ms; its worker was replaced`,
    });
  }

  /** A worker ended without being asked to. */
  exit(handle: WorkerHandle, reason: string, starting: boolean): void {
    // A worker that dies before it is ready is handled where its start is awaited.
    if (starting || !this.host.workers.handles.has(handle)) return;
    const running = handle.runningTask();
    const target: Target | undefined =
      running === undefined
        ? undefined
        : {
            ...running,
            ranMs: ranSince(running),
            code: 'WORKER_CRASHED',
            message: `${reason} while running this task`,
          };
    this.retire(handle, 'crashed', target);
  }

  private stopRunning(handle: WorkerHandle, running: RunningTask, code: ErrorCode, message: string): void {
    const { block, index } = running;
    this.retire(handle, 'aborted', { block, index, code, message, ranMs: ranSince(running) });
  }

  /**
   * Takes a worker out of the pool: its unreported tasks go back to the front of the queue, except
   * `target`, which fails. Then the pool is topped up.
   */
  retire(handle: WorkerHandle, reason: WorkerExitReason, target?: Target): void {
    const { ledger, workers } = this.host;
    if (!workers.remove(handle)) return;
    if (handle.phase !== 'dead') void handle.terminate();
    let back: { block: TaskBlock; indices: number[] } | undefined;
    const again: { block: TaskBlock; indices: number[] }[] = [];
    const touched = new Set<TaskBlock>();
    for (const entry of handle.pipeline) {
      for (let at = entry.next; at < entry.indices.length; at++) {
        const block = blockAt(entry, at);
        const index = entry.indices[at] as number;
        if (target !== undefined && target.block === block && target.index === index) {
          if (ledger.isOpen(block, index)) {
            ledger.fail(block, index, target.code, target.message, target.ranMs);
            touched.add(block);
          }
          continue;
        }
        if (!ledger.requeue(block, index)) continue;
        if (back === undefined || back.block !== block) {
          back = { block, indices: [] };
          again.push(back);
        }
        back.indices.push(index);
      }
    }
    handle.pipeline.length = 0;
    for (let i = again.length - 1; i >= 0; i--) {
      const { block, indices } = again[i]!;
      ledger.queue.unshift({ block, indices: Int32Array.from(indices), start: 0, end: indices.length });
    }
    for (const block of touched) block.flush();
    if (reason !== 'idle' && reason !== 'shutdown') this.host.stats.workerRestarts++;
    safeEmit(this.host.emitter, 'workerExit', handle.id, reason);
    if (!this.host.destroyed) {
      workers.ensure();
      this.host.dispatch();
    }
    ledger.checkIdle();
  }

  /** Ends every worker now, failing what is queued or in flight with `code` when given. */
  async terminateAll(failure?: { code: ErrorCode; message: string }): Promise<void> {
    const { ledger, workers } = this.host;
    if (failure !== undefined) ledger.failQueued(failure.code, failure.message);
    const ending: Promise<number>[] = [];
    for (const handle of [...workers.handles]) {
      if (failure !== undefined) {
        const touched = new Set<TaskBlock>();
        for (const entry of handle.pipeline) {
          for (let at = entry.next; at < entry.indices.length; at++) {
            const block = blockAt(entry, at);
            const index = entry.indices[at]!;
            if (!ledger.isOpen(block, index)) continue;
            ledger.fail(block, index, failure.code, failure.message);
            touched.add(block);
          }
        }
        for (const block of touched) block.flush();
      }
      handle.pipeline.length = 0;
      workers.remove(handle);
      ending.push(handle.terminate());
      safeEmit(this.host.emitter, 'workerExit', handle.id, 'shutdown');
    }
    await Promise.all(ending);
    ledger.checkIdle();
  }

  private afterSettling(): void {
    this.host.ledger.checkIdle();
    this.host.dispatch();
  }
}

function ranSince(task: RunningTask): number {
  return Math.max(0, timeOrigin + performance.now() - task.startedAt);
}
