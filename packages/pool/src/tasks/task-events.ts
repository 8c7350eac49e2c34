import type EventEmitter from 'eventemitter3';
import type { ErrorCode } from '../errors';
import type { TaskBlock } from './task-block';
import type { PoolEvents, WasmResult } from '../types';

/** Emits `taskComplete` for a settled task: a success when `code` is undefined, else a failure. */
export function emitTaskComplete(
  emitter: EventEmitter<PoolEvents>,
  block: TaskBlock,
  index: number,
  waitTimeMs: number,
  executionTimeMs: number,
  output: unknown,
  code?: ErrorCode,
  message?: string,
  /** Sandbox: fuel a metered task used; -1 or undefined otherwise. */
  fuelUsed?: number,
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
  if (fuelUsed !== undefined && fuelUsed >= 0) result.fuelUsed = fuelUsed;
  const fn = block.fns[index];
  emitter.emit('taskComplete', result, {
    module: fn?.version.name ?? String(block.tasks[index]?.module),
    function: fn?.name ?? String(block.tasks[index]?.function),
    waitTimeMs: Math.max(0, waitTimeMs),
  });
}
