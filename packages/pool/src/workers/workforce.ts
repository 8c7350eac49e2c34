import type EventEmitter from 'eventemitter3';
import { WasmPoolError } from '../errors';
import { safeEmit } from '../tasks/events';
import type { ResolvedOptions } from '../options';
import type { ModuleRegistry } from '../modules/registry';
import type { StatsCollector } from '../stats/stats';
import type { PoolEvents } from '../types';
import { WorkerHandle, type WorkerHandleEvents } from './worker-handle';

/** Workers that die this many times in a row while starting stop the pool from restarting them. */
const MAX_START_FAILURES = 3;

/** What the workforce needs from the scheduler it works for. */
export interface WorkforceHost extends WorkerHandleEvents {
  /** Tasks waiting in the queue. */
  readonly queued: number;
  readonly closing: boolean;
  readonly destroyed: boolean;
  /** A new worker is ready for tasks. */
  workerReady(handle: WorkerHandle): void;
  /** A worker above minWorkers has been idle for idleTimeoutMs. */
  workerIdle(handle: WorkerHandle): void;
  /** Workers keep dying while starting: what waits must fail instead of waiting forever. */
  startsFailing(error: WasmPoolError): void;
}

/**
 * The pool's worker threads: starts them (up to minWorkers, and more while tasks wait, up to
 * maxWorkers), retires idle ones, and stops restarting workers that keep dying while starting.
 */
export class Workforce {
  readonly handles = new Set<WorkerHandle>();
  private nextWorkerId = 1;
  private startFailures = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly registry: ModuleRegistry,
    private readonly emitter: EventEmitter<PoolEvents>,
    private readonly stats: StatsCollector,
    private readonly host: WorkforceHost,
  ) {}

  /**
   * A module version that ends the worker instantiating it (or takes longer than instantiateTimeoutMs)
   * is taken out of the registry at once, before that worker is replaced: new workers must not load
   * it again. Its registration, if under way, fails; an active one is removed ('error' event).
   */
  private readonly instantiateFailed = (moduleId: number, name: string, reason: string): void => {
    if (!this.registry.quarantine(moduleId)) return;
    const error = new WasmPoolError('INVALID_MODULE', `${reason}; module '${name}' was removed`);
    safeEmit(this.emitter, 'error', error);
  };

  /** Takes a worker out of the set; false if it was not in it. */
  remove(handle: WorkerHandle): boolean {
    if (!this.handles.delete(handle)) return false;
    this.countReady();
    return true;
  }

  /** Workers still taking tasks (not being retired). */
  accepting(): number {
    let count = 0;
    for (const handle of this.handles) if (handle.accepting) count++;
    return count;
  }

  /** Starts workers up to minWorkers, and more (up to maxWorkers) while tasks wait. */
  ensure(): void {
    const { host, options } = this;
    if (host.destroyed || this.startFailures >= MAX_START_FAILURES) return;
    let accepting = 0;
    let starting = 0;
    for (const handle of this.handles) {
      if (handle.accepting) accepting++;
      if (handle.phase === 'starting') starting++;
    }
    let wanted = host.closing ? 0 : Math.max(0, options.minWorkers - accepting);
    if (host.queued > 0) {
      const room = options.maxWorkers - this.handles.size;
      wanted = Math.max(wanted, Math.min(room, host.queued - starting, accepting === 0 ? 1 : room));
    }
    for (let i = 0; i < wanted && this.handles.size < options.maxWorkers; i++) {
      // Failures to start are counted in spawn(); nobody awaits these.
      this.spawn().catch(() => undefined);
    }
  }

  /** Starts a worker; resolves when it is ready, rejects if it fails to start. */
  spawn(): Promise<void> {
    const { options } = this;
    const handle = new WorkerHandle(
      this.nextWorkerId++,
      this.registry.loads(),
      options.resourceLimits,
      options.niceIncrement,
      this.host,
      { timeoutMs: options.instantiateTimeoutMs, failed: this.instantiateFailed },
    );
    this.handles.add(handle);
    const timer = setTimeout(() => {
      if (handle.phase !== 'starting') return;
      void handle.terminate();
      this.handles.delete(handle);
      this.startFailed(
        handle.id,
        `worker ${handle.id} was not ready within ${options.workerStartTimeoutMs} ms`,
      );
    }, options.workerStartTimeoutMs);
    timer.unref();
    return handle.ready.then(
      () => {
        clearTimeout(timer);
        if (!this.handles.has(handle)) return;
        this.startFailures = 0;
        this.countReady();
        safeEmit(this.emitter, 'workerCreate', handle.id);
        this.host.workerReady(handle);
      },
      (error: Error) => {
        clearTimeout(timer);
        if (this.handles.delete(handle)) {
          void handle.terminate();
          this.startFailed(handle.id, error.message);
        }
        throw error;
      },
    );
  }

  /** Retires `handle` after idleTimeoutMs without tasks, while the pool is above minWorkers. */
  startIdleTimer(handle: WorkerHandle): void {
    const { options } = this;
    if (handle.idleTimer !== undefined || this.host.closing) return;
    if (this.handles.size <= options.minWorkers || this.accepting() <= options.minWorkers) return;
    handle.idleTimer = setTimeout(() => {
      handle.idleTimer = undefined;
      if (handle.inflight === 0 && this.accepting() > options.minWorkers) this.host.workerIdle(handle);
    }, options.idleTimeoutMs);
    handle.idleTimer.unref();
  }

  /** A new submission after start failures gets a fresh chance to start workers. */
  retryStarts(): void {
    if (this.startFailures >= MAX_START_FAILURES) this.startFailures = 0;
  }

  /** Feeds the utilization integral with the number of running workers. */
  countReady(): void {
    let ready = 0;
    for (const handle of this.handles) if (handle.phase === 'ready') ready++;
    this.stats.setWorkers(ready);
  }

  private startFailed(workerId: number, reason: string): void {
    this.startFailures++;
    safeEmit(this.emitter, 'workerExit', workerId, 'startup-failed');
    if (this.startFailures < MAX_START_FAILURES) {
      this.ensure();
      return;
    }
    const error = new WasmPoolError(
      'WORKER_CRASHED',
      `workers keep dying while starting (${this.startFailures} in a row); last: ${reason}`,
    );
    safeEmit(this.emitter, 'error', error);
    // Fail what waits instead of restarting forever; the next submission tries again.
    this.host.startsFailing(error);
  }
}
