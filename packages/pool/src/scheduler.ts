import type EventEmitter from 'eventemitter3';
import { OutputKind, codeOfStatus, type ResultsMessage } from '@wasmpool/worker';
import { WasmPoolError, type ErrorCode } from './errors';
import { BatchEncoder } from './encoder';
import type { ResolvedOptions } from './options';
import { SliceQueue } from './queue';
import type { FunctionRef, ModuleRegistry, ModuleVersion } from './registry';
import { StatsCollector } from './stats';
import { BatchBlock, TaskState, type TaskBlock } from './task-block';
import type { PoolEvents, PoolStats, WasmResult, WasmTask, WorkerExitReason } from './types';
import { WorkerHandle, blockAt, type RunningTask, type WorkerHandleEvents } from './worker-handle';

/** Messages a worker may have in hand: one running, one waiting, so it never waits for us. */
const PIPELINE_DEPTH = 2;
/** Aim for messages of about this much work, so results come back often (ms). */
const TARGET_MESSAGE_MS = 2;
const MAX_MESSAGE_TASKS = 4096;
const FIRST_MESSAGE_TASKS = 16;
/** Workers that die this many times in a row while starting stop the pool from restarting them. */
const MAX_START_FAILURES = 3;

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
export class Scheduler implements WorkerHandleEvents {
  readonly queue = new SliceQueue();
  readonly stats = new StatsCollector();
  readonly handles = new Set<WorkerHandle>();
  queued = 0;
  inflight = 0;
  closing = false;
  destroyed = false;
  private readonly encoder = new BatchEncoder();
  private nextWorkerId = 1;
  private flushScheduled = false;
  private startFailures = 0;
  private idleWaiters: (() => void)[] = [];
  /** Task counts of module versions no longer loaded, by module name. */
  private readonly retiredCounts = new Map<string, { completed: number; failed: number }>();
  /** Called before every dispatch (the pool seals its open run() block there). */
  beforeFlush: () => void = () => undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly registry: ModuleRegistry,
    private readonly emitter: EventEmitter<PoolEvents>,
  ) {}

  // ---- submission and dispatch ----

  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(this.flush);
  }

  readonly flush = (): void => {
    this.flushScheduled = false;
    this.beforeFlush();
    this.dispatch();
    this.ensureWorkers();
  };

  private dispatch(): void {
    this.beforeFlush();
    if (this.queue.empty) return;
    const hadQueued = this.queued > 0;
    let ready = 0;
    for (const handle of this.handles) if (handle.phase === 'ready' && handle.accepting) ready++;
    while (!this.queue.empty) {
      const handle = this.pickWorker();
      if (handle === undefined) break;
      const sent = this.sendTo(handle, ready);
      if (!sent) break;
    }
    if (hadQueued && this.queued === 0) this.emitter.emit('drain');
  }

  private pickWorker(): WorkerHandle | undefined {
    let best: WorkerHandle | undefined;
    for (const handle of this.handles) {
      if (handle.phase !== 'ready' || !handle.accepting || handle.pipeline.length >= PIPELINE_DEPTH) continue;
      if (best === undefined || handle.inflight < best.inflight) best = handle;
    }
    return best;
  }

  private sendTo(handle: WorkerHandle, readyWorkers: number): boolean {
    const head = this.queue.peek();
    if (head === undefined) return false;
    const first = head.indices === null ? head.start : (head.indices[head.start] as number);
    const mean = head.block.fns[first]?.meanRunMs ?? -1;
    let limit = mean < 0 ? FIRST_MESSAGE_TASKS : Math.floor(TARGET_MESSAGE_MS / Math.max(mean, 1e-5));
    limit = Math.max(
      1,
      Math.min(limit, MAX_MESSAGE_TASKS, Math.ceil(this.queued / Math.max(1, readyWorkers))),
    );
    const { maxTasksPerWorker } = this.options;
    if (maxTasksPerWorker > 0) limit = Math.min(limit, maxTasksPerWorker - handle.tasksSent);
    const taken = this.encoder.take(this.queue, limit);
    if (taken === undefined) return false;
    const count = taken.entry.indices.length;
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
    const { count, status, values, times, refs } = message;
    const bigValues = new BigInt64Array(values.buffer, values.byteOffset, values.length);
    const listening = this.emitter.listenerCount('taskComplete') > 0;
    const stats = this.stats;
    // Per-function bookkeeping is gathered over a run of tasks of one function and applied once.
    let fn: FunctionRef | undefined;
    let fnTasks = 0;
    let fnSucceeded = 0;
    let fnMs = 0;
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
        const index = indices[entry.next] as number;
        entry.next++;
        const taskStatus = status[k] as number;
        const startedAt = times[2 * k] as number;
        const executionTimeMs = times[2 * k + 1] as number;
        const kind = block.outputs[index];
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
        this.inflight--;
        const taskFn = block.fns[index]!;
        if (taskFn !== fn) {
          if (fn !== undefined) this.account(fn, fnTasks, fnSucceeded, fnMs);
          fn = taskFn;
          fnTasks = 0;
          fnSucceeded = 0;
          fnMs = 0;
        }
        fnTasks++;
        fnMs += executionTimeMs;
        const waitTimeMs = startedAt - timeOrigin - block.acceptedAt;
        if (error === undefined) {
          fnSucceeded++;
          stats.recordSuccess(executionTimeMs, waitTimeMs);
          if (kind === OutputKind.number && block instanceof BatchBlock) {
            block.succeedNumber(index, output as number, executionTimeMs);
          } else {
            block.succeed(index, output, executionTimeMs);
          }
          if (listening) this.emitComplete(block, index, waitTimeMs, executionTimeMs, output);
        } else {
          const code = codeOfStatus(taskStatus);
          stats.recordFailure(code, executionTimeMs, waitTimeMs, true);
          taskFn.version.failed++;
          block.fail(index, code, error, executionTimeMs);
          if (listening) this.emitComplete(block, index, waitTimeMs, executionTimeMs, undefined, code, error);
        }
        if (block !== flushed) {
          flushed?.flush();
          flushed = block;
        }
      }
      if (entry.next === indices.length) handle.pipeline.shift();
    }
    if (fn !== undefined) this.account(fn, fnTasks, fnSucceeded, fnMs);
    flushed?.flush();
    handle.acknowledge(count);
    handle.heapBytes = message.heapBytes;
    handle.recordMemory(message.memory);
    this.afterProgress(handle);
  }

  /** Applies what a run of settled tasks of one function did: learnt run time, module counts. */
  private account(fn: FunctionRef, tasks: number, succeeded: number, totalMs: number): void {
    const meanMs = totalMs / tasks;
    fn.meanRunMs = fn.meanRunMs < 0 ? meanMs : fn.meanRunMs * 0.8 + meanMs * 0.2;
    const version = fn.version;
    version.completed += succeeded;
    version.pending -= tasks;
    if (version.pending === 0 && !version.active) this.unload(version);
  }

  /** Bookkeeping common to every settled task; the block is told by the caller. */
  private finish(block: TaskBlock, index: number): void {
    block.states[index] = TaskState.settled;
    block.unsettled--;
    const version = block.fns[index]?.version;
    if (version !== undefined && --version.pending === 0 && !version.active) this.unload(version);
  }

  private emitComplete(
    block: TaskBlock,
    index: number,
    waitTimeMs: number,
    executionTimeMs: number,
    output: unknown,
    code?: ErrorCode,
    message?: string,
  ): void {
    const result: WasmResult =
      code === undefined
        ? { id: block.taskId(index), success: true, output, executionTimeMs }
        : {
            id: block.taskId(index),
            success: false,
            error: { code, message: message ?? '' },
            executionTimeMs,
          };
    const fn = block.fns[index];
    this.emitter.emit('taskComplete', result, {
      module: fn?.version.name ?? String(block.tasks[index]?.module),
      function: fn?.name ?? String(block.tasks[index]?.function),
      waitTimeMs: Math.max(0, waitTimeMs),
    });
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
    const fn = block.fns[index];
    const waitTimeMs = Math.max(0, performance.now() - block.acceptedAt - executionTimeMs);
    const ran = executionTimeMs > 0;
    this.stats.recordFailure(code, executionTimeMs, waitTimeMs, ran);
    if (fn !== undefined) fn.version.failed++;
    this.finish(block, index);
    block.fail(index, code, message, executionTimeMs);
    block.flush();
    if (this.emitter.listenerCount('taskComplete') > 0) {
      this.emitComplete(
        block,
        index,
        ran ? waitTimeMs : waitTimeMs,
        executionTimeMs,
        undefined,
        code,
        message,
      );
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
      else this.startIdleTimer(handle);
    }
    this.dispatch();
    this.ensureWorkers();
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

  /** A batch task refused at submission: it gets its failed result now. */
  refusedInBlock(block: TaskBlock, index: number, error: WasmPoolError): void {
    this.stats.recordFailure(error.code, 0, 0, false);
    block.fail(index, error.code, error.message, 0);
    block.flush();
    if (this.emitter.listenerCount('taskComplete') > 0)
      this.emitComplete(block, index, 0, 0, undefined, error.code, error.message);
  }

  // ---- modules ----

  /** Sends a new module version to every worker; resolves when all have instantiated it. */
  async load(version: ModuleVersion): Promise<void> {
    this.registry.stage(version);
    const loading: Promise<void>[] = [];
    let loaded = 0;
    let death: Error | undefined;
    for (const handle of this.handles) {
      if (handle.moduleIds.has(version.id)) continue;
      handle.moduleIds.add(version.id);
      loading.push(
        handle.load({ type: 'load', modules: [version.load] }).then(
          () => void loaded++,
          (error: Error) => {
            if (handle.phase !== 'dead') throw error;
            death = error;
          },
        ),
      );
    }
    try {
      await Promise.all(loading);
      // Workers died loading it and none loaded it: the module (its host imports) kills workers.
      if (death !== undefined && loaded === 0) {
        throw new Error(`module '${version.name}': every worker died loading it (${death.message})`);
      }
    } catch (error) {
      this.registry.drop(version);
      for (const handle of this.handles) handle.send({ type: 'unload', ids: [version.id] });
      throw new WasmPoolError('INVALID_MODULE', (error as Error).message, { cause: error });
    }
  }

  /** Unloads a version that is no longer active once no accepted task needs it. */
  releaseIfUnused(version: ModuleVersion): void {
    if (!version.active && version.pending === 0) this.unload(version);
  }

  // ---- aborts and deadlines ----

  /** Stops every unsettled task of a block (a batch whose signal fired). */
  abortBlock(block: TaskBlock, message: string): void {
    for (const handle of [...this.handles]) {
      const running = handle.runningTask();
      if (running !== undefined && running.block === block) {
        this.retire(handle, 'aborted', {
          block,
          index: running.index,
          code: 'ABORTED',
          message,
          ranMs: ranSince(running),
        });
      } else {
        // Its tasks this worker holds but has not started: skipped there, as for run().
        handle.cancel(block, undefined);
      }
    }
    for (let index = 0; index < block.size; index++) {
      if (block.states[index] !== TaskState.settled) this.settleFailure(block, index, 'ABORTED', message);
    }
  }

  /** Stops one task: out of the queue if it waits, its worker ended if it runs. */
  abort(block: TaskBlock, index: number, message: string): void {
    if (block.states[index] === TaskState.dispatched) {
      for (const handle of this.handles) {
        const running = handle.runningTask();
        if (running !== undefined && running.block === block && running.index === index) {
          this.retire(handle, 'aborted', {
            block,
            index,
            code: 'ABORTED',
            message,
            ranMs: ranSince(running),
          });
          return;
        }
        handle.cancel(block, index);
      }
    }
    this.settleFailure(block, index, 'ABORTED', message);
  }

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

  exit(handle: WorkerHandle, reason: string, starting: boolean): void {
    // A worker that dies before it is ready is handled where its start is awaited.
    if (starting || !this.handles.has(handle)) return;
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
    if (!this.handles.delete(handle)) return;
    this.updateWorkerCount();
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
      this.ensureWorkers();
      this.dispatch();
    }
    this.checkIdle();
  }

  private startIdleTimer(handle: WorkerHandle): void {
    if (handle.idleTimer !== undefined || this.closing) return;
    if (this.acceptingWorkers() <= this.options.minWorkers) return;
    handle.idleTimer = setTimeout(() => {
      handle.idleTimer = undefined;
      if (handle.inflight === 0 && this.acceptingWorkers() > this.options.minWorkers)
        this.retire(handle, 'idle');
    }, this.options.idleTimeoutMs);
    handle.idleTimer.unref();
  }

  private acceptingWorkers(): number {
    let count = 0;
    for (const handle of this.handles) if (handle.accepting) count++;
    return count;
  }

  /** Starts workers up to minWorkers, and more (up to maxWorkers) while tasks wait. */
  ensureWorkers(): void {
    if (this.destroyed || this.startFailures >= MAX_START_FAILURES) return;
    let accepting = 0;
    let starting = 0;
    for (const handle of this.handles) {
      if (handle.accepting) accepting++;
      if (handle.phase === 'starting') starting++;
    }
    let wanted = this.closing ? 0 : Math.max(0, this.options.minWorkers - accepting);
    if (this.queued > 0) {
      const room = this.options.maxWorkers - this.handles.size;
      wanted = Math.max(wanted, Math.min(room, this.queued - starting, accepting === 0 ? 1 : room));
    }
    for (let i = 0; i < wanted && this.handles.size < this.options.maxWorkers; i++) {
      // Failures to start are counted in spawn(); nobody awaits these.
      this.spawn().catch(() => undefined);
    }
  }

  /** Starts a worker; resolves when it is ready, rejects if it fails to start. */
  spawn(): Promise<void> {
    const handle = new WorkerHandle(
      this.nextWorkerId++,
      this.registry.loads(),
      this.options.resourceLimits,
      this,
    );
    this.handles.add(handle);
    const timer = setTimeout(() => {
      if (handle.phase === 'starting') {
        void handle.terminate();
        this.handles.delete(handle);
        this.onStartFailure(
          handle.id,
          `worker ${handle.id} was not ready within ${this.options.workerStartTimeoutMs} ms`,
        );
      }
    }, this.options.workerStartTimeoutMs);
    timer.unref();
    return handle.ready.then(
      () => {
        clearTimeout(timer);
        if (!this.handles.has(handle)) return;
        this.startFailures = 0;
        this.updateWorkerCount();
        this.emitter.emit('workerCreate', handle.id);
        if (this.destroyed) return;
        this.dispatch();
        if (handle.inflight === 0) this.startIdleTimer(handle);
      },
      (error: Error) => {
        clearTimeout(timer);
        if (this.handles.delete(handle)) {
          void handle.terminate();
          this.onStartFailure(handle.id, error.message);
        }
        throw error;
      },
    );
  }

  private onStartFailure(workerId: number, reason: string): void {
    this.startFailures++;
    this.emitter.emit('workerExit', workerId, 'startup-failed');
    if (this.startFailures < MAX_START_FAILURES) {
      this.ensureWorkers();
      return;
    }
    const error = new WasmPoolError(
      'WORKER_CRASHED',
      `workers keep dying while starting (${this.startFailures} in a row); last: ${reason}`,
    );
    if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', error);
    // Fail what waits instead of restarting forever; the next submission tries again.
    for (const slice of this.queue.drain())
      this.failSlice(slice.block, slice.indices, slice.start, slice.end, error);
  }

  /** A new submission after start failures gets a fresh chance to start workers. */
  retryStarts(): void {
    if (this.startFailures >= MAX_START_FAILURES) this.startFailures = 0;
  }

  private failSlice(
    block: TaskBlock,
    indices: Int32Array | null,
    start: number,
    end: number,
    error: WasmPoolError,
  ): void {
    for (let at = start; at < end; at++) {
      this.settleFailure(block, indices === null ? at : (indices[at] as number), error.code, error.message);
    }
  }

  private updateWorkerCount(): void {
    let ready = 0;
    for (const handle of this.handles) if (handle.phase === 'ready') ready++;
    this.stats.setWorkers(ready);
  }

  private unload(version: ModuleVersion): void {
    this.registry.drop(version);
    const counts = this.retiredCounts.get(version.name) ?? { completed: 0, failed: 0 };
    counts.completed += version.completed;
    counts.failed += version.failed;
    this.retiredCounts.set(version.name, counts);
    for (const handle of this.handles) {
      handle.memory.delete(version.id);
      handle.send({ type: 'unload', ids: [version.id] });
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
    if (error !== undefined) {
      for (const slice of this.queue.drain())
        this.failSlice(slice.block, slice.indices, slice.start, slice.end, error);
    }
    const ending: Promise<number>[] = [];
    for (const handle of [...this.handles]) {
      if (error !== undefined) {
        for (const entry of handle.pipeline) {
          for (let at = entry.next; at < entry.indices.length; at++) {
            this.settleFailure(blockAt(entry, at), entry.indices[at]!, error.code, error.message);
          }
        }
      }
      handle.pipeline.length = 0;
      this.handles.delete(handle);
      ending.push(handle.terminate());
      this.emitter.emit('workerExit', handle.id, 'shutdown');
    }
    this.updateWorkerCount();
    await Promise.all(ending);
    this.checkIdle();
  }

  // ---- stats ----

  snapshot(): PoolStats {
    let idle = 0;
    let busy = 0;
    let starting = 0;
    let running = 0;
    let handed = 0;
    const memoryById = new Map<number, { bytes: number; instances: number }>();
    for (const handle of this.handles) {
      if (handle.phase === 'starting') starting++;
      else if (handle.busy) busy++;
      else idle++;
      if (handle.inflight > 0) {
        // Sent to the worker but not started yet counts as queued; only what executes is running.
        const progress = handle.progress();
        const executing = progress.running ? 1 : 0;
        running += executing;
        handed += Math.max(0, handle.inflight - progress.started);
      }
      for (const [id, bytes] of handle.memory) {
        const entry = memoryById.get(id) ?? { bytes: 0, instances: 0 };
        entry.bytes += bytes;
        entry.instances++;
        memoryById.set(id, entry);
      }
    }
    const modules: PoolStats['modules'] = {};
    for (const [name, counts] of this.retiredCounts)
      modules[name] = { memoryBytes: 0, instances: 0, ...counts };
    for (const version of this.registry.versions()) {
      const memory = memoryById.get(version.id);
      const current = modules[version.name] ?? { memoryBytes: 0, instances: 0, completed: 0, failed: 0 };
      current.memoryBytes += memory?.bytes ?? 0;
      current.instances += memory?.instances ?? 0;
      current.completed += version.completed;
      current.failed += version.failed;
      modules[version.name] = current;
    }
    return this.stats.snapshot({
      workers: { total: idle + busy + starting, idle, busy, starting },
      queued: this.queued + handed,
      running,
      modules,
    });
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
