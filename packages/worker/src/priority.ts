import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The highest nice value (lowest priority) on Linux. */
const MAX_NICE = 19;

/**
 * Raises the calling thread's nice value by `increment` (lowers its scheduling priority), up to 19.
 * Linux only: there a thread has its own nice value, set with setpriority() on its thread id, which
 * /proc/thread-self names. Elsewhere setpriority() would act on the whole process, so nothing is
 * done. Returns the thread's nice value after the change, or undefined when it was not changed.
 */
export function raiseThreadNice(increment: number): number | undefined {
  if (increment <= 0 || process.platform !== 'linux') return undefined;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return undefined;
    const nice = Math.min(MAX_NICE, getPriority(tid) + increment);
    setPriority(tid, nice);
    return getPriority(tid);
  } catch {
    // No /proc (a sandbox) or the call was refused: the worker runs at the process's priority.
    return undefined;
  }
}
