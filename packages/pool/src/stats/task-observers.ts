import { WasmPoolError, type ErrorCode } from '../errors';
import type { TaskObserver } from '../types';

/**
 * The observers registered with `pool.observeTasks()`. The task path reads {@link current} once per
 * settled task: undefined when nobody observes (the pool pays one field read), the observer itself
 * when there is one, a fan-out when there are several.
 */
export class TaskObservers {
  current: TaskObserver | undefined;
  /** One entry per registration (the same observer added twice is two), in order. */
  private readonly all = new Set<{ observer: TaskObserver }>();

  /** Adds an observer; the returned function removes it (idempotent). */
  add(observer: TaskObserver): () => void {
    if (typeof (observer as Partial<TaskObserver> | null | undefined)?.taskSettled !== 'function') {
      throw new WasmPoolError(
        'INVALID_PARAMS',
        'observeTasks() needs an object with a taskSettled(module, code, executionTimeMs, waitTimeMs, fuelUsed) method',
      );
    }
    // A registration of its own, so that the same observer added twice is removed one at a time. The
    // observer itself is what the task path calls (a bound copy would cost a trampoline per task).
    const entry = { observer };
    this.all.add(entry);
    this.update();
    return () => {
      if (this.all.delete(entry)) this.update();
    };
  }

  private update(): void {
    const list = [...this.all].map((entry) => entry.observer);
    if (list.length <= 1) {
      this.current = list[0];
      return;
    }
    this.current = {
      taskSettled(module, code, executionTimeMs, waitTimeMs, fuelUsed) {
        for (const observer of list) notify(observer, module, code, executionTimeMs, waitTimeMs, fuelUsed);
      },
    };
  }
}

/** Tells an observer of a task; what it throws must not stop the pool settling tasks. */
export function notify(
  observer: TaskObserver,
  module: string,
  code: ErrorCode | undefined,
  executionTimeMs: number,
  waitTimeMs: number,
  fuelUsed: number | undefined,
): void {
  try {
    observer.taskSettled(module, code, executionTimeMs, waitTimeMs, fuelUsed);
  } catch {
    // dropped, as TaskObserver.taskSettled documents
  }
}
