import { availableParallelism } from 'node:os';
import { Channel, type ResultsMessage } from '@wasmpool/worker';
import type { WasmPoolError } from '../errors';
import { ModuleLoader } from '../modules/module-loader';
import type { ResolvedOptions } from '../options';
import type { ModuleRegistry, ModuleVersion } from '../modules/registry';
import { StatsCollector } from '../stats/stats';
import { snapshotPool } from '../stats/snapshot';
import { BatchEncoder } from '../tasks/encoder';
import { safeEmit, type PoolEmitter } from '../tasks/events';
import { TaskLedger } from '../tasks/ledger';
import { settleResults } from '../tasks/results';
import type { PoolStats, TaskObserver } from '../types';
import { LoopKeeper } from './loop-keeper';
import { Recovery, type RecoveryHost } from './recovery';
import type { TaskBlock } from '../tasks/task-block';
import { blockAt, type PipelineEntry, type RunningTask, type WorkerHandle } from './worker-handle';
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

/**
 * Batches and streams feed the queue up to this many tasks, and to half of maxQueue at most, so
 * that run() calls beside a big batch find room: enough to keep several workers' pipelines full.
 */
const FEED_TASKS = 16 * Channel.SLOT_TASKS;

/**
 * Places tasks on workers: sends queued tasks to workers in messages sized by the functions' learnt
 * run times, takes their results in, and grows, shrinks and tops up the workforce. The life of each
 * task is the ledger's (`tasks/ledger.ts`); what happens when something goes wrong (abort, deadline,
 * crash, retirement, shutdown) is `Recovery`'s (`recovery.ts`).
 */
export class Scheduler implements WorkforceHost, RecoveryHost {
  readonly stats = new StatsCollector();
  readonly ledger: TaskLedger;
  readonly workers: Workforce;
  readonly modules: ModuleLoader;
  readonly recovery: Recovery;
  closing = false;
  destroyed = false;
  private readonly encoder: BatchEncoder;
  private flushScheduled = false;
  /** Called before every dispatch (the pool seals its open run() block there). */
  beforeFlush: () => void = () => undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly registry: ModuleRegistry,
    readonly emitter: PoolEmitter,
    violation: (message: string) => void,
  ) {
    this.workers = new Workforce(options, registry, emitter, this.stats, this);
    this.modules = new ModuleLoader(registry, this.workers.handles);
    this.ledger = new TaskLedger(
      Math.max(1, Math.min(Math.floor(options.maxQueue / 2), FEED_TASKS)),
      this.stats,
      this.modules,
      emitter,
      violation,
    );
    this.encoder = new BatchEncoder(this.ledger);
    this.recovery = new Recovery(this);
    this.violation = violation;
  }

  private readonly violation: (message: string) => void;

  /** Accepted tasks not handed to a worker yet (the workforce grows while there are some). */
  get queued(): number {
    return this.ledger.queued + this.ledger.waiting;
  }

  /** A new worker is ready: give it work. */
  workerReady(handle: WorkerHandle): void {
    if (this.destroyed) return;
    this.dispatch();
    if (handle.inflight === 0) this.workers.startIdleTimer(handle);
  }

  workerIdle(handle: WorkerHandle): void {
    this.recovery.retire(handle, 'idle');
  }

  startsFailing(error: WasmPoolError): void {
    this.ledger.failQueued(error.code, error.message);
    this.ledger.checkIdle();
  }

  timeout(handle: WorkerHandle, task: RunningTask): void {
    this.recovery.timeout(handle, task);
  }

  exit(handle: WorkerHandle, reason: string, starting: boolean): void {
    this.recovery.exit(handle, reason, starting);
  }

  // ---- dispatch ----

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

  dispatch(): void {
    this.beforeFlush();
    const { ledger } = this;
    ledger.feed();
    if (ledger.queue.empty) return;
    const hadQueued = ledger.queued > 0;
    let ready = 0;
    for (const handle of this.workers.handles) if (handle.phase === 'ready' && handle.accepting) ready++;
    while (!ledger.queue.empty) {
      const mean = this.headMeanMs();
      const pack = mean >= 0 && mean < PACK_BELOW_MS;
      const handle = this.pickWorker(pack);
      if (handle === undefined) break;
      const sent = this.sendTo(handle, mean, pack ? 1 : ready);
      if (!sent) break;
      ledger.feed();
    }
    if (hadQueued && ledger.queued === 0 && ledger.waiting === 0) safeEmit(this.emitter, 'drain');
    if (this.lastSentExpectedMs < AWAKE_MAX_EXPECTED_MS && this.wantsAwake()) this.loop.start();
  }

  /**
   * Whether the event loop is kept turning (see LoopKeeper): while at most AWAKE_MAX_TASKS tasks are
   * out and a core is left for the main thread (a turning loop would take one from the workers).
   * Tasks expected to run longer than AWAKE_MAX_EXPECTED_MS do not start it: the wake-up is small
   * next to them.
   */
  private readonly wantsAwake = (): boolean => {
    if (this.destroyed || this.ledger.inflight === 0 || this.ledger.inflight > AWAKE_MAX_TASKS) return false;
    return this.busyWorkers() < CORES;
  };

  private busyWorkers(): number {
    let busy = 0;
    for (const handle of this.workers.handles) if (handle.inflight > 0) busy++;
    return busy;
  }

  /**
   * Whether `handle` may spin for its next message after the one about to be sent (`RunMessage.spin`;
   * the spin is in the worker's thread.ts): only for a message of a few quick tasks, whose results
   * the caller will answer within microseconds, and only while a core is free for it once the main
   * thread has its own. A worker spinning on a taken core holds up the main thread it is waiting for:
   * with two workers and two cores, 4 KiB SHA-256 tasks through run() left each worker idle for
   * 100–500 µs after one message in six, as long as its spin plus the main thread's wait for a core.
   */
  private spinAfter(handle: WorkerHandle, count: number, expectedMs: number): boolean {
    if (count > AWAKE_MAX_TASKS || expectedMs >= AWAKE_MAX_EXPECTED_MS) return false;
    return this.busyWorkers() + (handle.inflight === 0 ? 1 : 0) < CORES;
  }

  private readonly loop = new LoopKeeper(this.wantsAwake, AWAKE_MS);
  private lastSentExpectedMs = 0;

  /** The expected run time of the task at the head of the queue, from its function's learnt mean (ms; -1: not timed yet). */
  private headMeanMs(): number {
    const head = this.ledger.queue.peek();
    if (head === undefined) return -1;
    const first = head.indices === null ? head.start : (head.indices[head.start] as number);
    const mean = head.block.fns[first]?.meanRunMs ?? -1;
    return mean < 0 ? mean : mean * head.block.callsOf(first);
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
    limit = Math.max(
      1,
      Math.min(limit, MAX_MESSAGE_TASKS, Math.ceil(this.ledger.queued / Math.max(1, sharers))),
    );
    const { maxTasksPerWorker } = this.options;
    if (maxTasksPerWorker > 0) limit = Math.min(limit, maxTasksPerWorker - handle.tasksSent);
    const slot = handle.freeRunSlot();
    if (slot === undefined) return false;
    const taken = this.encoder.take(limit, slot);
    if (taken === undefined) return false;
    const count = taken.entry.indices.length;
    // A function not timed yet counts as quick: the first results tell.
    this.lastSentExpectedMs = mean < 0 ? 0 : mean * count;
    taken.message.spin = this.spinAfter(handle, count, this.lastSentExpectedMs);
    if (handle.idleTimer !== undefined) {
      clearTimeout(handle.idleTimer);
      handle.idleTimer = undefined;
    }
    try {
      handle.dispatch(taken.message, taken.entry);
    } catch (error) {
      this.unsendable(taken.entry, error);
      return true;
    }
    if (maxTasksPerWorker > 0 && handle.tasksSent >= maxTasksPerWorker) {
      handle.accepting = false;
      handle.retireReason = 'recycled';
    }
    return true;
  }

  /** A message that could not be posted (its data cannot be cloned): its tasks fail, nothing else. */
  private unsendable(entry: PipelineEntry, error: unknown): void {
    const message = `the task could not be sent to a worker: ${(error as Error)?.message ?? String(error)}`;
    const touched = new Set<TaskBlock>();
    for (let at = 0; at < entry.indices.length; at++) {
      const block = blockAt(entry, at);
      const index = entry.indices[at]!;
      if (!this.ledger.isOpen(block, index)) continue;
      this.ledger.fail(block, index, 'INVALID_PARAMS', message);
      touched.add(block);
    }
    for (const block of touched) block.flush();
    this.ledger.checkIdle();
  }

  // ---- results ----

  results(handle: WorkerHandle, message: ResultsMessage): void {
    settleResults(this.ledger, handle, message, this.violation);
    handle.releaseResults(message);
    handle.acknowledge(message.count);
    this.loop.progress();
    handle.heapBytes = message.heapBytes;
    handle.recordMemory(message.memory);
    this.afterProgress(handle);
  }

  private afterProgress(handle: WorkerHandle): void {
    const limitMb = this.options.workerMemoryLimitMb;
    if (limitMb > 0 && handle.accepting && workerMemoryBytes(handle) > limitMb * 1024 * 1024) {
      handle.accepting = false;
      handle.retireReason = 'memory';
    }
    if (handle.inflight === 0) {
      if (!handle.accepting) this.recovery.retire(handle, handle.retireReason ?? 'recycled');
      else this.workers.startIdleTimer(handle);
    }
    this.dispatch();
    this.workers.ensure();
    this.ledger.checkIdle();
  }

  // ---- workers and modules ----

  /** Starts a worker; resolves when it is ready with every module, rejects if it fails to start. */
  spawnWorker(): Promise<void> {
    return this.workers.spawn();
  }

  /** Sends a new module version to every worker; resolves when all have instantiated it. */
  loadModule(version: ModuleVersion): Promise<void> {
    return this.modules.load(version);
  }

  /** A replaced or removed version is unloaded once no accepted task needs it. */
  releaseModule(version: ModuleVersion): void {
    this.modules.release(version);
  }

  /** `pool.observeTasks()`: `observer` is told of every task settled from now on. */
  observeTasks(observer: TaskObserver): () => void {
    return this.stats.observers.add(observer);
  }

  // ---- shutdown ----

  /** Stops taking tasks, finishes every accepted one, then ends every worker. */
  async close(): Promise<void> {
    this.closing = true;
    this.flush();
    await this.ledger.whenIdle();
    await this.terminateAll();
  }

  /** Fails every accepted task with POOL_CLOSED and ends every worker now. */
  destroy(): Promise<void> {
    const ending = this.terminateAll({ code: 'POOL_CLOSED', message: 'the pool was destroyed' });
    this.closing = true;
    return ending;
  }

  /** Ends every worker now, failing what is queued or in flight with `failure` when given. */
  terminateAll(failure?: { code: 'POOL_CLOSED'; message: string }): Promise<void> {
    this.destroyed = true;
    this.loop.stop();
    return this.recovery.terminateAll(failure);
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

function workerMemoryBytes(handle: WorkerHandle): number {
  let bytes = handle.heapBytes;
  for (const value of handle.memory.values()) bytes += value;
  return bytes;
}
