import { availableParallelism } from 'node:os';
import type EventEmitter from 'eventemitter3';
import { Channel, type ResultsMessage } from '@wasmpool/worker';
import { WasmPoolError, type ErrorCode } from '../errors';
import { BatchEncoder } from '../tasks/encoder';
import type { ResolvedOptions } from '../options';
import { SliceQueue } from '../tasks/queue';
import type { ModuleRegistry } from '../modules/registry';
import { StatsCollector } from '../stats/stats';
import { TaskState, type TaskBlock } from '../tasks/task-block';
import { LoopKeeper } from './loop-keeper';
import { settleResults, type ResultsHost } from '../tasks/results';
import { emitTaskComplete } from '../tasks/task-events';
import { ModuleLoader } from '../modules/module-loader';
import { snapshotPool } from '../stats/snapshot';
import type { PoolEvents, PoolStats, WasmTask, WorkerExitReason } from '../types';
import { blockAt, type RunningTask, type WorkerHandle } from './worker-handle';
import { INTERRUPT_GRACE_MS, interruptible } from './interruption';
import { Workforce, type WorkforceHost } from './workforce';

/** Messages a worker may have in hand: one running, one waiting, so it never waits for us. */
const PIPELINE_DEPTH = Channel.RUN_SLOTS;
/** Aim for messages of about this much work, so results come back often (ms). */
const TARGET_MESSAGE_MS = 2;
const MAX_MESSAGE_TASKS = Channel.SLOT_TASKS;
const FIRST_MESSAGE_TASKS = 16;
/** When the event loop is kept turning for results (see `wantsAwake`), and for how long after the last one (ms). */
const AWAKE_MAX_TASKS = 16;
const AWAKE_MAX_EXPECTED_MS = 0.05;
const AWAKE_MS = 1;
const CORES = availableParallelism();
/**
 * Tasks expected to take less than this on a worker (ms) are packed onto as few workers as keep up
 * (see `pickWorker`). The main thread spends a few hundred ns encoding and settling each task, so
 * a worker running tasks of a µs or less needs little help; a second one would sleep between
 * messages and have to be woken for each, and waking a thread when no core is free makes the
 * kernel take a core, often the main thread's.
 */
const PACK_BELOW_MS = 0.001;
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

/**
 * Owns the queue and the workers: sends waiting tasks to workers in batches, settles every accepted
 * task exactly once from what the workers report or from what happens to them, and grows, shrinks
 * and replaces workers.
 */
export class Scheduler implements WorkforceHost, ResultsHost {
  readonly queue = new SliceQueue();
  readonly stats = new StatsCollector();
  readonly workers: Workforce;
  queued = 0;
  inflight = 0;
  closing = false;
  destroyed = false;
  private readonly encoder = new BatchEncoder();
  private flushScheduled = false;
  private idleWaiters: (() => void)[] = [];
  readonly modules: ModuleLoader;
  /** Called before every dispatch (the pool seals its open run() block there). */
  beforeFlush: () => void = () => undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly registry: ModuleRegistry,
    readonly emitter: EventEmitter<PoolEvents>,
  ) {
    this.workers = new Workforce(options, registry, emitter, this.stats, this);
    this.modules = new ModuleLoader(registry, this.workers.handles);
  }

  /** A new worker is ready: give it work. */
  workerReady(handle: WorkerHandle): void {
    if (this.destroyed) return;
    this.dispatch();
    if (handle.inflight === 0) this.workers.startIdleTimer(handle);
  }

  workerIdle(handle: WorkerHandle): void {
    this.retire(handle, 'idle');
  }

  startsFailing(error: WasmPoolError): void {
    this.failQueued(error);
  }

  // ---- submission and dispatch ----

  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(this.flush);
  }

  readonly flush = (): void => {
    this.flushScheduled = false;
    this.dispatch();
    this.workers.ensure();
  };

  private dispatch(): void {
    this.beforeFlush();
    if (this.queue.empty) return;
    const hadQueued = this.queued > 0;
    let ready = 0;
    for (const handle of this.workers.handles) if (handle.phase === 'ready' && handle.accepting) ready++;
    while (!this.queue.empty) {
      const mean = this.headMeanMs();
      const pack = mean >= 0 && mean < PACK_BELOW_MS;
      const handle = this.pickWorker(pack);
      if (handle === undefined) break;
      const sent = this.sendTo(handle, mean, pack ? 1 : ready);
      if (!sent) break;
    }
    if (hadQueued && this.queued === 0) this.emitter.emit('drain');
    if (this.lastSentExpectedMs < AWAKE_MAX_EXPECTED_MS && this.wantsAwake()) this.loop.start();
  }

  /**
   * Whether the event loop is kept turning (see LoopKeeper): while at most AWAKE_MAX_TASKS tasks are
   * out and a core is left for the main thread (a turning loop would take one from the workers).
   * Tasks expected to run longer than AWAKE_MAX_EXPECTED_MS do not start it: the wake-up is small
   * next to them.
   */
  private readonly wantsAwake = (): boolean => {
    if (this.destroyed || this.inflight === 0 || this.inflight > AWAKE_MAX_TASKS) return false;
    let busy = 0;
    for (const handle of this.workers.handles) if (handle.inflight > 0) busy++;
    return busy < CORES;
  };

  private readonly loop = new LoopKeeper(this.wantsAwake, AWAKE_MS);
  private lastSentExpectedMs = 0;

  /** The learnt mean run time of the function of the task at the head of the queue (ms; -1: not timed yet). */
  private headMeanMs(): number {
    const head = this.queue.peek();
    if (head === undefined) return -1;
    const first = head.indices === null ? head.start : (head.indices[head.start] as number);
    return head.block.fns[first]?.meanRunMs ?? -1;
  }

  /**
   * The worker for the next message: one with a free run slot, the least loaded (`pack` false) or
   * the most loaded (`pack` true; the earliest started on a tie), so that tasks the main thread
   * cannot feed fast enough keep one worker busy rather than several half asleep. Packing costs
   * little parallelism: a worker whose slots are both taken gets nothing, so the next one is used
   * as soon as the first falls behind.
   */
  private pickWorker(pack: boolean): WorkerHandle | undefined {
    let best: WorkerHandle | undefined;
    for (const handle of this.workers.handles) {
      if (handle.phase !== 'ready' || !handle.accepting || handle.pipeline.length >= PIPELINE_DEPTH) continue;
      if (best === undefined || (pack ? handle.inflight > best.inflight : handle.inflight < best.inflight))
        best = handle;
    }
    return best;
  }

  /** Sends `handle` a message of the tasks at the head of the queue, split over `sharers` workers. */
  private sendTo(handle: WorkerHandle, mean: number, sharers: number): boolean {
    let limit = mean < 0 ? FIRST_MESSAGE_TASKS : Math.floor(TARGET_MESSAGE_MS / Math.max(mean, 1e-5));
    limit = Math.max(1, Math.min(limit, MAX_MESSAGE_TASKS, Math.ceil(this.queued / Math.max(1, sharers))));
    const { maxTasksPerWorker } = this.options;
    if (maxTasksPerWorker > 0) limit = Math.min(limit, maxTasksPerWorker - handle.tasksSent);
    const slot = handle.freeRunSlot();
    if (slot === undefined) return false;
    const taken = this.encoder.take(this.queue, limit, slot);
    if (taken === undefined) return false;
    const count = taken.entry.indices.length;
    // A function not timed yet counts as quick: the first results tell.
    this.lastSentExpectedMs = mean < 0 ? 0 : mean * count;
    this.queued -= count;
    this.inflight += count;
    if (handle.idleTimer !== undefined) {
      clearTimeout(handle.idleTimer);
      handle.idleTimer = undefined;
    }
    handle.dispatch(taken.message, taken.entry);
    if (maxTasksPerWorker > 0 && handle.tasksSent >= maxTasksPerWorker) {
      handle.accepting = false;
      handle.retireReason = 'recycled';
    }
    return true;
  }

  // ---- results ----

  results(handle: WorkerHandle, message: ResultsMessage): void {
    settleResults(this, handle, message);
    handle.releaseResults(message);
    handle.acknowledge(message.count);
    this.loop.progress();
    handle.heapBytes = message.heapBytes;
    handle.recordMemory(message.memory);
    this.afterProgress(handle);
  }

  /**
   * Settles a task that failed without a worker's report (refused, aborted, timed out, crashed,
   * pool closed). Does nothing if the task is settled already.
   */
  settleFailure(
    block: TaskBlock,
    index: number,
    code: ErrorCode,
    message: string,
    executionTimeMs = 0,
  ): void {
    const state = block.states[index];
    if (state === TaskState.settled) return;
    if (state === TaskState.queued) this.queued--;
    else if (state === TaskState.dispatched) this.inflight--;
    block.states[index] = TaskState.settled;
    block.unsettled--;
    const waitTimeMs = Math.max(0, performance.now() - block.acceptedAt - executionTimeMs);
    this.stats.recordFailure(code, executionTimeMs, waitTimeMs, executionTimeMs > 0);
    const version = block.fns[index]?.version;
    if (version !== undefined) {
      version.failed++;
      if (--version.pending === 0) this.modules.release(version);
    }
    block.fail(index, code, message, executionTimeMs);
    block.flush();
    if (this.emitter.listenerCount('taskComplete') > 0) {
      emitTaskComplete(this.emitter, block, index, waitTimeMs, executionTimeMs, undefined, code, message);
    }
    this.checkIdle();
  }

  private afterProgress(handle: WorkerHandle): void {
    const limitMb = this.options.workerMemoryLimitMb;
    if (limitMb > 0 && handle.accepting && workerMemoryBytes(handle) > limitMb * 1024 * 1024) {
      handle.accepting = false;
      handle.retireReason = 'memory';
    }
    if (handle.inflight === 0) {
      if (!handle.accepting) this.retire(handle, handle.retireReason ?? 'recycled');
      else this.workers.startIdleTimer(handle);
    }
    this.dispatch();
    this.workers.ensure();
    this.checkIdle();
  }

  /** Counts and reports a task refused at submission (run() rejects it). */
  refused(task: WasmTask, error: WasmPoolError): void {
    this.stats.recordFailure(error.code, 0, 0, false);
    if (this.emitter.listenerCount('taskComplete') > 0) {
      const id = typeof task?.id === 'string' ? task.id : '';
      this.emitter.emit(
        'taskComplete',
        { id, success: false, error: { code: error.code, message: error.message }, executionTimeMs: 0 },
        { module: String(task?.module), function: String(task?.function), waitTimeMs: 0 },
      );
    }
  }

  /** A batch task refused at submission: it gets its failed result now (the caller flushes the block). */
  refusedInBlock(block: TaskBlock, index: number, error: WasmPoolError): void {
    this.stats.recordFailure(error.code, 0, 0, false);
    block.fail(index, error.code, error.message, 0);
    if (this.emitter.listenerCount('taskComplete') > 0)
      emitTaskComplete(this.emitter, block, index, 0, 0, undefined, error.code, error.message);
  }

  // ---- aborts and deadlines ----

  /** Stops every unsettled task of a block (a batch whose signal fired). */
  abortBlock(block: TaskBlock, message: string): void {
    for (const handle of [...this.workers.handles]) {
      const running = handle.runningTask();
      if (running !== undefined && running.block === block) this.stopAborted(handle, running, message);
      // Its tasks this worker holds but has not started: skipped there (an interrupted worker
      // carries on with them).
      handle.cancel(block, undefined);
    }
    for (let index = 0; index < block.size; index++) {
      if (block.states[index] !== TaskState.settled) this.settleFailure(block, index, 'ABORTED', message);
    }
  }

  /** Stops one task: out of the queue if it waits, skipped by its worker if handed, its worker ended if it runs. */
  abort(block: TaskBlock, index: number, message: string): void {
    if (block.states[index] === TaskState.dispatched) {
      for (const handle of this.workers.handles) {
        const running = handle.runningTask();
        if (running !== undefined && running.block === block && running.index === index) {
          this.stopAborted(handle, running, message);
          return;
        }
        if (!handle.cancel(block, index)) {
          // It started between the two reads: stop it as a running task.
          this.stopAborted(handle, { block, index, startedAt: timeOrigin + performance.now() }, message);
          return;
        }
      }
    }
    this.settleFailure(block, index, 'ABORTED', message);
  }

  private stopAborted(handle: WorkerHandle, running: RunningTask, message: string): void {
    const { block, index } = running;
    // Sandbox: an instrumented module's task stops at its next check; the worker is ended only if it
    // still runs that task a grace period later.
    if (interruptible(block, index) && handle.interrupt(block, index)) {
      this.settleFailure(block, index, 'ABORTED', message, ranSince(running));
      setTimeout(() => {
        const still = handle.runningTask();
        if (still !== undefined && still.block === block && still.index === index)
          this.retire(handle, 'aborted');
      }, INTERRUPT_GRACE_MS).unref();
      return;
    }
    this.retire(handle, 'aborted', { block, index, code: 'ABORTED', message, ranMs: ranSince(running) });
  }

  timeout(handle: WorkerHandle, task: RunningTask): void {
    const limit = task.block.timeoutOf(task.index);
    const ranMs = ranSince(task);
    this.retire(handle, 'timeout', {
      ...task,
      ranMs,
      code: 'TIMEOUT',
      message: interruptible(task.block, task.index)
        ? `the task ran for ${ranMs.toFixed(1)} ms, past its limit of ${limit} ms, and did not stop; its worker was replaced`
        : `the task ran for ${ranMs.toFixed(1)} ms, past its limit of ${limit} ms; its worker was replaced`,
    });
  }

  exit(handle: WorkerHandle, reason: string, starting: boolean): void {
    // A worker that dies before it is ready is handled where its start is awaited.
    if (starting || !this.workers.handles.has(handle)) return;
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

  // ---- workers ----

  /**
   * Takes a worker out of the pool: its unreported tasks go back to the front of the queue, except
   * `target`, which fails. Then the pool is topped up.
   */
  retire(handle: WorkerHandle, reason: WorkerExitReason, target?: Target): void {
    if (!this.workers.remove(handle)) return;
    if (handle.phase !== 'dead') void handle.terminate();
    let back: { block: TaskBlock; indices: number[] } | undefined;
    const again: { block: TaskBlock; indices: number[] }[] = [];
    for (const entry of handle.pipeline) {
      for (let at = entry.next; at < entry.indices.length; at++) {
        const block = blockAt(entry, at);
        const index = entry.indices[at] as number;
        if (block.states[index] !== TaskState.dispatched) continue;
        if (target !== undefined && target.block === block && target.index === index) {
          this.settleFailure(block, index, target.code, target.message, target.ranMs);
          continue;
        }
        block.states[index] = TaskState.queued;
        this.inflight--;
        this.queued++;
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
      this.queue.unshift({ block, indices: Int32Array.from(indices), start: 0, end: indices.length });
    }
    if (reason !== 'idle' && reason !== 'shutdown') this.stats.workerRestarts++;
    this.emitter.emit('workerExit', handle.id, reason);
    if (!this.destroyed) {
      this.workers.ensure();
      this.dispatch();
    }
    this.checkIdle();
  }

  /** Fails every task waiting in the queue. */
  private failQueued(error: WasmPoolError): void {
    for (const { block, indices, start, end } of this.queue.drain()) {
      for (let at = start; at < end; at++) {
        this.settleFailure(block, indices === null ? at : (indices[at] as number), error.code, error.message);
      }
    }
  }

  // ---- shutdown ----

  /** Resolves when nothing is queued or in flight. */
  whenIdle(): Promise<void> {
    if (this.queued === 0 && this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.idleWaiters.length > 0 && this.queued === 0 && this.inflight === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Ends every worker now, failing what is queued or in flight with `error`. */
  async terminateAll(error?: WasmPoolError): Promise<void> {
    this.destroyed = true;
    this.loop.stop();
    if (error !== undefined) this.failQueued(error);
    const ending: Promise<number>[] = [];
    for (const handle of [...this.workers.handles]) {
      if (error !== undefined) {
        for (const entry of handle.pipeline) {
          for (let at = entry.next; at < entry.indices.length; at++) {
            this.settleFailure(blockAt(entry, at), entry.indices[at]!, error.code, error.message);
          }
        }
      }
      handle.pipeline.length = 0;
      this.workers.remove(handle);
      ending.push(handle.terminate());
      this.emitter.emit('workerExit', handle.id, 'shutdown');
    }
    await Promise.all(ending);
    this.checkIdle();
  }

  // ---- stats ----

  snapshot(): PoolStats {
    return snapshotPool(
      this.workers.handles,
      this.registry.versions(),
      this.modules.retiredCounts,
      this.stats,
      this.queued,
    );
  }
}

function ranSince(task: RunningTask): number {
  return Math.max(0, timeOrigin + performance.now() - task.startedAt);
}

function workerMemoryBytes(handle: WorkerHandle): number {
  let bytes = handle.heapBytes;
  for (const value of handle.memory.values()) bytes += value;
  return bytes;
}
