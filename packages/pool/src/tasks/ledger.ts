import type { ErrorCode } from '../errors';
import type { ModuleLoader } from '../modules/module-loader';
import type { FunctionRef } from '../modules/registry';
import type { StatsCollector } from '../stats/stats';
import type { Refusal } from './admission';
import { safeEmit, type PoolEmitter } from './events';
import { SliceQueue } from './queue';
import { OutputKind, type ResultSlot } from '@wasmpool/worker';
import { TaskState, positionId, type ResultsBlock, type TaskBlock } from './task-block';
import { emitTaskComplete } from './task-events';
import { releaseParams } from './byte-arena';

/** Read once: a package's exports are getters, too slow for the per-task loop. */
const NUMBER = OutputKind.number;

/**
 * The one owner of a task's life. Every accepted task is in exactly one state (`TaskState`), and
 * only this class moves it: accepted (queued, or waiting for room in the queue) → dispatched →
 * settled, or back to queued when its worker ends. It keeps the counters (`queued`, `waiting`,
 * `inflight`) and each module version's `pending` count, and it is the only place that settles a
 * task: settling records stats, delivers the result to the task's block and emits `taskComplete`.
 *
 * Exactly once: `settle*` refuses a task that is not open (a second settlement is a bug in the
 * pool, reported loudly through `violation`); paths that may race with a worker's report (abort,
 * timeout) ask `isOpen()` first.
 */
export class TaskLedger {
  /** Tasks in the queue. */
  queued = 0;
  /** Tasks of batches and streams accepted but not in the queue yet (fed as room frees up). */
  waiting = 0;
  /** Tasks handed to workers and not settled. */
  inflight = 0;
  readonly queue = new SliceQueue();
  /** Blocks with waiting tasks, in order of acceptance. */
  private readonly feeding: { block: TaskBlock; next: number }[] = [];
  private feedingHead = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    /** The queue is fed from waiting blocks up to this many tasks. */
    private readonly feedLimit: number,
    readonly stats: StatsCollector,
    readonly modules: ModuleLoader,
    readonly emitter: PoolEmitter,
    /** Called when an invariant breaks: the pool has a bug. */
    private readonly violation: (message: string) => void,
  ) {}

  /** Accepted tasks not settled (queued, waiting or in flight). */
  get open(): number {
    return this.queued + this.waiting + this.inflight;
  }

  // ---- acceptance ----

  /** Takes an admitted task of a run() block: it joins the queue now (its slice is the caller's). */
  acceptQueued(block: TaskBlock, index: number): void {
    block.states[index] = TaskState.queued;
    block.unsettled++;
    block.fns[index]!.version.pending++;
    this.queued++;
  }

  /** Takes an admitted task of a batch or stream block: it waits until `feed()` queues it. */
  acceptWaiting(block: TaskBlock, index: number): void {
    block.states[index] = TaskState.waiting;
    block.unsettled++;
    block.fns[index]!.version.pending++;
    this.waiting++;
  }

  /**
   * Whether a batch or stream block of `size` tasks can join the queue at once: nothing waits before
   * it and the queue has room for all of it. Its tasks are then accepted queued (`acceptQueued`, then
   * `enqueue`), skipping the feed.
   */
  hasRoomFor(size: number): boolean {
    return this.feedingHead === this.feeding.length && this.queued + size <= this.feedLimit;
  }

  /** After its tasks were accepted queued: the whole block joins the queue. */
  enqueue(block: TaskBlock): void {
    this.queue.push({ block, indices: null, start: 0, end: block.size });
  }

  /** After its tasks were accepted waiting: the block's waiting tasks are fed to the queue in order. */
  startFeeding(block: TaskBlock): void {
    if (block.unsettled > 0) this.feeding.push({ block, next: 0 });
    this.feed();
  }

  /** Moves waiting tasks into the queue while it holds fewer than `feedLimit`. */
  feed(): void {
    while (this.feedingHead < this.feeding.length && this.queued < this.feedLimit) {
      const source = this.feeding[this.feedingHead]!;
      const { block } = source;
      const { states } = block;
      const size = block.size;
      const start = source.next;
      let index = start;
      let moved = 0;
      const room = this.feedLimit - this.queued;
      for (; index < size && moved < room; index++) {
        if (states[index] !== TaskState.waiting) continue;
        states[index] = TaskState.queued;
        moved++;
      }
      source.next = index;
      this.waiting -= moved;
      this.queued += moved;
      if (index > start) this.queue.push({ block, indices: null, start, end: index });
      if (index >= size) this.feeding[this.feedingHead++] = undefined as never;
    }
    if (this.feedingHead === this.feeding.length && this.feedingHead > 0) {
      this.feeding.length = 0;
      this.feedingHead = 0;
    }
  }

  /** Records a task refused at admission (stats and `taskComplete`); its caller delivers the error. */
  refused(refusal: Refusal): void {
    const { error } = refusal;
    this.stats.recordFailure(error.code, 0, 0, false, refusal.module);
    if (this.emitter.listenerCount('taskComplete') > 0) {
      safeEmit(
        this.emitter,
        'taskComplete',
        {
          id: refusal.id ?? '',
          success: false,
          error: { code: error.code, message: error.message },
          executionTimeMs: 0,
        },
        { module: refusal.module, function: refusal.function, waitTimeMs: 0 },
      );
    }
  }

  /** A batch or stream task refused at admission: its failed result is delivered now. */
  refusedInBlock(block: ResultsBlock, index: number, refusal: Refusal): void {
    block.states[index] = TaskState.settled;
    // admission stores the id only once the task is accepted: the result must echo it all the same
    if (refusal.id !== undefined) (block.givenIds ??= [])[index] = refusal.id;
    this.refused(refusal);
    block.fail(index, refusal.error.code, refusal.error.message, 0);
  }

  /** A hole of a sparse batch: a failed result sharing one error object, nothing else. */
  refusedHole(
    block: ResultsBlock,
    index: number,
    error: { readonly code: ErrorCode; readonly message: string },
  ): void {
    block.states[index] = TaskState.settled;
    this.stats.recordFailure(error.code, 0, 0, false, '');
    block.failShared(index, error);
    if (this.emitter.listenerCount('taskComplete') > 0) {
      safeEmit(this.emitter, 'taskComplete', block.results[index]!, {
        module: '',
        function: '',
        waitTimeMs: 0,
      });
    }
  }

  // ---- dispatch ----

  /** Marks task `index` of `block`, taken off the queue, as handed to a worker. */
  dispatched(block: TaskBlock, index: number): void {
    block.states[index] = TaskState.dispatched;
  }

  /** After a message of `count` tasks was handed to a worker. */
  sent(count: number): void {
    this.queued -= count;
    this.inflight += count;
  }

  /** A dispatched task whose worker ended before reporting it goes back to the queue (the caller queues it). */
  requeue(block: TaskBlock, index: number): boolean {
    if (block.states[index] !== TaskState.dispatched) return false;
    block.states[index] = TaskState.queued;
    this.inflight--;
    this.queued++;
    return true;
  }

  // ---- settlement ----

  /** Whether a task is accepted and not settled. */
  isOpen(block: TaskBlock, index: number): boolean {
    const state = block.states[index];
    return state !== TaskState.settled && index < block.size && block.fns[index] !== undefined;
  }

  /** Settles a dispatched task with its worker's successful report. */
  succeed(
    block: TaskBlock,
    index: number,
    output: unknown,
    executionTimeMs: number,
    waitTimeMs: number,
    fuelUsed?: number,
  ): void {
    if (!this.close(block, index, 'a success')) return;
    const fn = block.fns[index]!;
    this.stats.recordSuccess(executionTimeMs, waitTimeMs, fn.version.name, fuelUsed);
    fn.version.completed++;
    block.succeed(index, output, executionTimeMs, fuelUsed);
    if (this.emitter.listenerCount('taskComplete') > 0) {
      emitTaskComplete(
        this.emitter,
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
  }

  /**
   * Settles a task with a failure the pool decided (refused late, aborted, timed out, crashed, pool
   * closed); `executionTimeMs` is how long it had run, if it was running.
   */
  fail(block: TaskBlock, index: number, code: ErrorCode, message: string, executionTimeMs = 0): void {
    if (!this.close(block, index, `a failure (${code})`)) return;
    const waitTimeMs = performance.now() - block.acceptedAt - executionTimeMs;
    this.recordFailure(block, index, code, message, executionTimeMs, waitTimeMs, executionTimeMs > 0);
  }

  /** Settles a task its worker reported as failed. */
  failReported(
    block: TaskBlock,
    index: number,
    code: ErrorCode,
    message: string,
    executionTimeMs: number,
    waitTimeMs: number,
    fuelUsed?: number,
  ): void {
    if (!this.close(block, index, `a failure (${code})`)) return;
    this.recordFailure(block, index, code, message, executionTimeMs, waitTimeMs, true, fuelUsed);
  }

  private recordFailure(
    block: TaskBlock,
    index: number,
    code: ErrorCode,
    message: string,
    executionTimeMs: number,
    waitTimeMs: number,
    ran: boolean,
    fuelUsed?: number,
  ): void {
    const wait = Math.max(0, waitTimeMs);
    const fn = block.fns[index]!;
    this.stats.recordFailure(code, executionTimeMs, wait, ran, fn.version.name, fuelUsed);
    fn.version.failed++;
    block.fail(index, code, message, executionTimeMs, fuelUsed);
    if (this.emitter.listenerCount('taskComplete') > 0) {
      emitTaskComplete(this.emitter, block, index, wait, executionTimeMs, undefined, code, message, fuelUsed);
    }
  }

  /**
   * The bookkeeping of settling one task: its state, the counter it left, its module version. False
   * (and a violation) when it was settled already or was never accepted.
   */
  private close(block: TaskBlock, index: number, what: string): boolean {
    const state = block.states[index];
    const fn = block.fns[index];
    if (state === TaskState.settled || fn === undefined || index >= block.size) {
      this.violation(
        `${what} for task ${block.taskId(index)}, which is ${fn === undefined ? 'not accepted' : 'settled already'}`,
      );
      return false;
    }
    if (state === TaskState.queued) this.queued--;
    else if (state === TaskState.dispatched) this.inflight--;
    else this.waiting--;
    block.states[index] = TaskState.settled;
    block.unsettled--;
    const params = block.params?.[index];
    if (params !== undefined) releaseParams(params);
    const version = fn.version;
    if (--version.pending === 0) this.modules.release(version);
    return true;
  }

  /** Total run time of the tasks the last `settleNumbers()` settled (ms). */
  settledMs = 0;

  /**
   * The hot path of big batches and streams: settles the successful numeric results of function
   * `fn` at `indices[from..to)`, which are results `k, k+1, …` of `views` (a results message), in
   * one loop. Stops at the first task that needs the general path (a failure, another output kind
   * or function, a task settled already) and returns how many it settled.
   */
  settleNumbers(
    block: ResultsBlock,
    indices: Int32Array,
    from: number,
    to: number,
    k: number,
    fn: FunctionRef,
    views: ResultSlot,
  ): number {
    const { states, outputs, fns, results, givenIds, base, params } = block;
    const { status, values } = views;
    const { stats } = this;
    const module = fn.version.name;
    const acceptedAt = performance.timeOrigin + block.acceptedAt;
    let totalMs = 0;
    let at = from;
    for (; at < to; at++, k++) {
      const index = indices[at] as number;
      if (
        status[k] !== 0 ||
        outputs[index] !== NUMBER ||
        states[index] !== TaskState.dispatched ||
        fns[index] !== fn
      ) {
        break;
      }
      states[index] = TaskState.settled;
      if (params !== undefined) {
        const taskParams = params[index];
        if (taskParams !== undefined) releaseParams(taskParams);
      }
      const executionTimeMs = views.executionTimeMs(k);
      totalMs += executionTimeMs;
      stats.recordSuccess(executionTimeMs, views.startedAt(k) - acceptedAt, module);
      results[index] = {
        id: givenIds?.[index] ?? positionId(base + index),
        success: true,
        output: values[k],
        executionTimeMs,
      };
    }
    const settled = at - from;
    if (settled === 0) return 0;
    block.unsettled -= settled;
    block.done += settled;
    this.settledMs = totalMs;
    this.inflight -= settled;
    const version = fn.version;
    version.completed += settled;
    version.pending -= settled;
    if (version.pending === 0) this.modules.release(version);
    return settled;
  }

  /** Fails every task in the queue or waiting to enter it. */
  failQueued(code: ErrorCode, message: string): void {
    for (const { block, indices, start, end } of this.queue.drain()) {
      for (let at = start; at < end; at++) {
        const index = indices === null ? at : (indices[at] as number);
        if (block.states[index] === TaskState.queued) this.fail(block, index, code, message);
      }
      block.flush();
    }
    for (let f = this.feedingHead; f < this.feeding.length; f++) {
      const { block, next } = this.feeding[f]!;
      for (let index = next; index < block.size; index++) {
        if (block.states[index] === TaskState.waiting) this.fail(block, index, code, message);
      }
      block.flush();
    }
    this.feeding.length = 0;
    this.feedingHead = 0;
  }

  // ---- idle ----

  /** Resolves when no accepted task is left. */
  whenIdle(): Promise<void> {
    if (this.open === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  checkIdle(): void {
    if (this.idleWaiters.length > 0 && this.open === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}
