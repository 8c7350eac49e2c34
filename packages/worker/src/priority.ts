import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The highest nice value (lowest priority) on Linux. */
const MAX_NICE = 19;

/**
 * Raises the calling thread's nice value by `increment` (lowers its scheduling priority), up to 19.
 * Linux only: there a thread has its own nice value, set with setpriority() on its thread id, which
 * /proc/thread-self names. Elsewhere setpriority() would act on the whole process, so nothing is
 * done, and nothing is done when /proc is missing or the call is refused: the worker then runs at
 * the process's priority.
 */
export function raiseThreadNice(increment: number): void {
  if (increment <= 0 || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(MAX_NICE, getPriority(tid) + increment));
  } catch {
    // No /proc (a sandbox) or the call was refused.
  }
}
