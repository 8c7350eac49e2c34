/**
 * Sandbox: a running task of an instrumented module stops itself at its deadline, or when the pool
 * asks (the status block's INTERRUPT word), and its worker carries on with its next task. Ending the
 * worker stays the last resort, for a task that has not stopped a grace period later (stuck inside a
 * host import, or a module that could not be instrumented).
 */
import type { TaskBlock } from '../tasks/task-block';

/** How long a running task has to stop by itself before its worker is ended (ms). */
export const INTERRUPT_GRACE_MS = 100;

/** Whether the task's module can be interrupted (it was instrumented at registration). */
export function interruptible(block: TaskBlock, index: number): boolean {
  return block.fns[index]?.version.load.instrumented === true;
}

/** Extra time a running task gets past its deadline before its worker is ended (ms). */
export function graceMs(block: TaskBlock, index: number): number {
  return interruptible(block, index) ? INTERRUPT_GRACE_MS : 0;
}
