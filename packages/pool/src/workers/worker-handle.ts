import { Worker } from 'node:worker_threads';
import {
  CHANNEL_BYTES,
  Channel,
  ResultSlot,
  RunSlot,
  Status,
  workerScriptPath,
  type FromWorker,
  type ModuleLoad,
  type ResultsMessage,
  type ToWorker,
  type WorkerInit,
} from '@wasmpool/worker';
import { TaskState, type TaskBlock } from '../tasks/task-block';
import { graceMs } from './interruption';
import type { WorkerResourceLimits } from '../types';

/** Tasks sent to a worker in one message, in order. */
export interface PipelineEntry {
  /** The run message's sequence number (its results name it). */
  seq: number;
  /** Task indices, each in its block. */
  indices: Int32Array;
  /** The blocks, one per run of tasks: `blocks[r]` holds the tasks before `ends[r]`. */
  blocks: TaskBlock[];
  ends: number[];
  /** Index of the first task whose result has not arrived. */
  next: number;
  /** Smallest timeout among these tasks (ms). */
  minTimeoutMs: number;
  /** The run slot of the channel the message was written to, free again once all results arrived. */
  slot: number;
}

/** A run slot of a worker's channel, and the task indices of the message in it (kept here). */
export interface RunTarget {
  run: RunSlot;
  indices: Int32Array;
}

/** Where the task a worker runs now sits. */
export interface RunningTask {
  block: TaskBlock;
  index: number;
  /** Absolute start time, ms since the epoch. */
  startedAt: number;
}

export interface WorkerHandleEvents {
  results(handle: WorkerHandle, message: ResultsMessage): void;
  /** The worker ended without being asked to (`starting`: before it was ready). */
  exit(handle: WorkerHandle, reason: string, starting: boolean): void;
  /** The running task passed its deadline. */
  timeout(handle: WorkerHandle, task: RunningTask): void;
}

/** The block of the task at position `at` of an entry. */
export function blockAt(entry: PipelineEntry, at: number): TaskBlock {
  let run = 0;
  while (at >= (entry.ends[run] as number)) run++;
  return entry.blocks[run] as TaskBlock;
}

const now = (): number => performance.timeOrigin + performance.now();

/** How long one instantiation in the worker may take, and who to tell when it fails the worker. */
export interface InstantiateGuard {
  timeoutMs: number;
  /**
   * Called when the worker ended (or was ended for taking too long) while instantiating module
   * version `moduleId`, before the pool hears of the exit and starts a replacement.
   */
  failed(moduleId: number, name: string, reason: string): void;
}

interface PendingLoad {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** One worker thread and the tasks sent to it. */
export class WorkerHandle {
  readonly id: number;
  private readonly worker: Worker;
  private readonly state: Int32Array;
  private readonly startedAtView: Float64Array;
  phase: 'starting' | 'ready' | 'dead' = 'starting';
  /** False once the worker is to be retired: it finishes what it has and gets nothing new. */
  accepting = true;
  retireReason: 'recycled' | 'memory' | undefined;
  readonly pipeline: PipelineEntry[] = [];
  /** Tasks sent and not yet reported. */
  inflight = 0;
  /** Tasks reported, modulo 2^31 (matches the worker's counter). */
  private reported = 0;
  tasksSent = 0;
  heapBytes = 0;
  /** Linear memory per module version id, as last reported. */
  readonly memory = new Map<number, number>();
  idleTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private watchdogDue = Infinity;
  /** Set by an 'error' event; the crash is handled at 'exit', once queued messages are delivered. */
  private crashReason: string | undefined;
  private readonly loads: PendingLoad[] = [];
  readonly ready: Promise<void>;
  /** Module versions sent to this worker. */
  readonly moduleIds: Set<number>;
  private readonly runSlots: RunTarget[] = [];
  private readonly freeRunSlots: number[] = [];
  private readonly resultSlots: ResultSlot[] = [];
  private instantiateTimer: NodeJS.Timeout | undefined;
  /** The module version the worker is instantiating, between 'instantiating' and 'ready'/'load-error'. */
  private instantiating: { moduleId: number; name: string } | undefined;

  constructor(
    id: number,
    modules: ModuleLoad[],
    resourceLimits: WorkerResourceLimits,
    niceIncrement: number,
    private readonly events: WorkerHandleEvents,
    private readonly guard?: InstantiateGuard,
  ) {
    this.id = id;
    this.moduleIds = new Set(modules.map((module) => module.id));
    const status = new SharedArrayBuffer(Status.BYTES);
    this.state = new Int32Array(status);
    this.startedAtView = new Float64Array(status, 0, 2);
    const channel = new SharedArrayBuffer(CHANNEL_BYTES);
    for (let slot = 0; slot < Channel.RUN_SLOTS; slot++) {
      this.runSlots.push({ run: new RunSlot(channel, slot), indices: new Int32Array(Channel.SLOT_TASKS) });
      this.freeRunSlots.push(slot);
    }
    for (let slot = 0; slot < Channel.RESULT_SLOTS; slot++)
      this.resultSlots.push(ResultSlot.shared(channel, slot));
    const init: WorkerInit = { workerId: id, status, channel, modules, niceIncrement };
    this.ready = new Promise<void>((resolve, reject) => this.loads.push({ resolve, reject }));
    this.ready.then(
      () => {
        if (this.phase === 'starting') this.phase = 'ready';
      },
      () => undefined,
    );
    this.worker = new Worker(workerScriptPath, {
      workerData: init,
      resourceLimits,
      stdout: false,
      stderr: false,
    });
    this.worker.on('message', this.onMessage);
    this.worker.on('error', this.onError);
    this.worker.on('exit', this.onExit);
  }

  get busy(): boolean {
    return this.inflight > 0;
  }

  send(message: ToWorker, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(message, transfer);
    this.wake();
  }

  /** Wakes the worker if it waits on the status block for its next message. */
  private wake(): void {
    Atomics.add(this.state, Status.WAKE, 1);
    if (Atomics.load(this.state, Status.WAITING) === 1) Atomics.notify(this.state, Status.WAKE, 1);
  }

  /** Sends modules to load; resolves once the worker has instantiated them. */
  load(message: ToWorker): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.loads.push({ resolve, reject }));
    this.send(message);
    return done;
  }

  /** A free run slot, or undefined when the worker holds as many messages as it has slots. */
  freeRunSlot(): RunTarget | undefined {
    const slot = this.freeRunSlots[this.freeRunSlots.length - 1];
    return slot === undefined ? undefined : this.runSlots[slot];
  }

  /** Takes the first pipeline entry off once all its results arrived; its run slot is free again. */
  completeEntry(): void {
    const entry = this.pipeline.shift();
    if (entry !== undefined) this.freeRunSlots.push(entry.slot);
  }

  /** The results of a results message: in a result slot of the channel, or in the message. */
  resultsOf(message: ResultsMessage): ResultSlot {
    return message.slot >= 0 ? this.resultSlots[message.slot]! : ResultSlot.received(message.arrays!);
  }

  /** The pool has read a results message: its result slot may be reused by the worker. */
  releaseResults(message: ResultsMessage): void {
    if (message.slot >= 0) Atomics.store(this.state, Status.RESULT_BUSY + message.slot, 0);
  }

  /** Sends a batch of tasks and keeps them in the pipeline until their results arrive. */
  dispatch(message: ToWorker, entry: PipelineEntry): void {
    const free = this.freeRunSlots.indexOf(entry.slot);
    if (free < 0) throw new Error(`run slot ${entry.slot} of worker ${this.id} is in use`);
    // Posted first: a message that cannot be sent leaves nothing behind (the caller fails its tasks).
    this.send(message);
    this.freeRunSlots.splice(free, 1);
    this.pipeline.push(entry);
    const count = entry.indices.length;
    this.inflight += count;
    this.tasksSent += count;
    const due = now() + entry.minTimeoutMs;
    if (due < this.watchdogDue) this.armWatchdog(entry.minTimeoutMs);
  }

  /** Marks `count` results as arrived (the caller has consumed them from the pipeline). */
  acknowledge(count: number): void {
    this.inflight -= count;
    this.reported = (this.reported + count) & 0x7fffffff;
    // The watchdog stays armed when nothing is left: it then finds nothing to do, and a worker that
    // gets one task after another does not set and clear a timer for each.
  }

  /** Tasks this worker started and has not reported yet, and whether the last of them is running. */
  progress(): { started: number; running: boolean } {
    const state = Atomics.load(this.state, Status.STATE);
    return { started: ((state >>> 1) - this.reported) & 0x7fffffff, running: (state & 1) === 1 };
  }

  /** The task running now, if any. */
  runningTask(): RunningTask | undefined {
    const { started, running } = this.progress();
    if (!running || started === 0) return undefined;
    const at = this.locate(started - 1);
    if (at === undefined) return undefined;
    return { ...at, startedAt: this.startedAtView[Status.STARTED_AT] as number };
  }

  /**
   * Tasks handed to the worker that it has not started and that are still open (for `stats()`): a
   * task cancelled before it started has settled, though the worker has yet to reach and skip it.
   */
  openUnstarted(started: number): number {
    let offset = 0;
    let open = 0;
    for (const entry of this.pipeline) {
      for (let at = entry.next; at < entry.indices.length; at++, offset++) {
        if (offset < started) continue;
        if (blockAt(entry, at).states[entry.indices[at]!] !== TaskState.settled) open++;
      }
    }
    return open;
  }

  /**
   * Tells the worker to skip a task it was sent but has not started (or, with no index, every such
   * task of the block). Returns false if it has started that task: only ending the worker stops it.
   */
  cancel(block: TaskBlock, index: number | undefined): boolean {
    const { started } = this.progress();
    let offset = 0;
    let cancelled = 0;
    for (const entry of this.pipeline) {
      for (let at = entry.next; at < entry.indices.length; at++, offset++) {
        if ((index !== undefined && entry.indices[at] !== index) || blockAt(entry, at) !== block) continue;
        if (offset < started) {
          if (index !== undefined) return false;
          continue;
        }
        // The ring holds the latest CANCEL_SLOTS cancellations; a task cancelled beyond that still
        // runs, and its result is ignored.
        if (cancelled++ === Status.CANCEL_SLOTS) return true;
        const seq = (this.reported + offset + 1) & 0x7fffffff;
        const count = Atomics.load(this.state, Status.CANCELS);
        Atomics.store(this.state, Status.CANCEL_RING + (count & (Status.CANCEL_SLOTS - 1)), seq);
        Atomics.store(this.state, Status.CANCELS, (count + 1) | 0);
        if (index !== undefined) return true;
      }
    }
    return true;
  }

  /**
   * Asks the worker to stop a task it has started (an instrumented module's next check throws
   * ABORTED). Returns false if the worker does not hold the task.
   */
  interrupt(block: TaskBlock, index: number): boolean {
    let offset = 0;
    for (const entry of this.pipeline) {
      for (let at = entry.next; at < entry.indices.length; at++, offset++) {
        if (entry.indices[at] !== index || blockAt(entry, at) !== block) continue;
        Atomics.store(this.state, Status.INTERRUPT, (this.reported + offset + 1) & 0x7fffffff);
        return true;
      }
    }
    return false;
  }

  /** Whether the worker was sent task `index` of `block` and has not reported it. */
  holds(block: TaskBlock, index: number): boolean {
    for (const entry of this.pipeline) {
      for (let at = entry.next; at < entry.indices.length; at++) {
        if (entry.indices[at] === index && blockAt(entry, at) === block) return true;
      }
    }
    return false;
  }

  /** The pipeline task `offset` places after the first unreported one. */
  locate(offset: number): { block: TaskBlock; index: number } | undefined {
    for (const entry of this.pipeline) {
      const left = entry.indices.length - entry.next;
      if (offset < left) {
        const at = entry.next + offset;
        return { block: blockAt(entry, at), index: entry.indices[at] as number };
      }
      offset -= left;
    }
    return undefined;
  }

  /** Takes in a [module id, bytes, ...] memory report. */
  recordMemory(report: Float64Array | null): void {
    if (report === null) return;
    for (let m = 0; m < report.length; m += 2) this.memory.set(report[m] as number, report[m + 1] as number);
  }

  /** Ends the thread now; it reports nothing more. */
  terminate(): Promise<number> {
    this.detach();
    return this.worker.terminate();
  }

  private detach(reason = `worker ${this.id} ended`): void {
    this.phase = 'dead';
    this.disarmWatchdog();
    this.clearInstantiateTimer();
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.worker.off('message', this.onMessage);
    this.worker.off('error', this.onError);
    this.worker.off('exit', this.onExit);
    // An exit after this point is expected; keep a listener so that an 'error' is not thrown.
    this.worker.on('error', () => undefined);
    const error = new Error(reason);
    for (const load of this.loads.splice(0)) load.reject(error);
  }

  private armWatchdog(delayMs: number): void {
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdogDue = now() + delayMs;
    this.watchdog = setTimeout(this.checkDeadline, Math.max(0, delayMs));
    this.watchdog.unref();
  }

  private disarmWatchdog(): void {
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.watchdogDue = Infinity;
  }

  private readonly checkDeadline = (): void => {
    this.watchdog = undefined;
    this.watchdogDue = Infinity;
    if (this.phase === 'dead' || this.inflight === 0) return;
    const time = now();
    let rest = Infinity;
    for (const entry of this.pipeline) rest = Math.min(rest, entry.minTimeoutMs);
    const running = this.runningTask();
    if (running !== undefined) {
      // An instrumented module's task stops itself at its deadline: its worker is ended only if it
      // has not a grace period later.
      const deadline =
        running.startedAt + running.block.timeoutOf(running.index) + graceMs(running.block, running.index);
      if (time >= deadline) {
        this.events.timeout(this, running);
        return;
      }
      this.armWatchdog(Math.min(deadline - time, rest));
      return;
    }
    // Between tasks: whatever starts next cannot pass its deadline before `rest` from now.
    this.armWatchdog(rest);
  };

  private readonly onMessage = (message: FromWorker): void => {
    switch (message.type) {
      case 'results':
        this.events.results(this, message);
        return;
      case 'instantiating':
        this.armInstantiateTimer(message.moduleId, message.name);
        return;
      case 'ready':
        this.clearInstantiateTimer();
        this.recordMemory(message.memory);
        this.loads.shift()?.resolve();
        return;
      case 'load-error':
        this.clearInstantiateTimer();
        this.loads
          .shift()
          ?.reject(new Error(`module '${message.name}' cannot be instantiated: ${message.message}`));
        return;
    }
  };

  /**
   * Times an instantiation (start function, `_initialize`, host imports loading): past the guard's
   * limit the worker is ended, and its pending loads fail with a reason that names the module.
   */
  private armInstantiateTimer(moduleId: number, name: string): void {
    const guard = this.guard;
    if (guard === undefined) return;
    this.clearInstantiateTimer();
    this.instantiating = { moduleId, name };
    const instantiating = this.instantiating;
    // Checked after an I/O turn: a main thread that was itself blocked past the limit runs the timer
    // before it reads the worker's 'ready', which may be waiting.
    const expire = (): void => {
      if (this.phase === 'dead' || this.instantiating !== instantiating) return;
      const reason =
        `module '${name}' cannot be instantiated: it did not finish within ${guard.timeoutMs} ms ` +
        `(instantiateTimeoutMs; a start function or _initialize that does not end)`;
      this.crashReason = reason;
      // Not terminate(): 'exit' must still reach onExit, which tells the guard, and the pool replaces
      // the worker as a crashed one.
      void this.worker.terminate();
    };
    this.instantiateTimer = setTimeout(() => {
      this.instantiateTimer = undefined;
      setImmediate(expire);
    }, guard.timeoutMs);
  }

  private clearInstantiateTimer(): void {
    if (this.instantiateTimer !== undefined) clearTimeout(this.instantiateTimer);
    this.instantiateTimer = undefined;
    this.instantiating = undefined;
  }

  private readonly onError = (error: Error): void => {
    // 'exit' follows, after Node has delivered the messages the worker posted before it died (an
    // uncaught exception's 'error' can overtake them): handle the crash there, so that results the
    // worker reported are not lost and their tasks are not run again.
    this.crashReason ??= `worker ${this.id} crashed: ${error.message}`;
  };

  private readonly onExit = (code: number): void => {
    let reason = this.crashReason ?? `worker ${this.id} exited with code ${code}`;
    const starting = this.phase === 'starting';
    const instantiating = this.instantiating;
    if (instantiating !== undefined) {
      // The module did it: say which (the timeout's reason names it already).
      const prefix = `module '${instantiating.name}' cannot be instantiated`;
      if (!reason.startsWith(prefix)) reason = `${prefix}: ${reason} while instantiating it`;
      this.guard?.failed(instantiating.moduleId, instantiating.name, reason);
    }
    this.detach(reason);
    this.events.exit(this, reason, starting);
  };
}
