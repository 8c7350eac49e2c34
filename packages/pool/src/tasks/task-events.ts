import type { ErrorCode } from '../errors';
import { safeEmit, type PoolEmitter } from './events';
import type { TaskBlock } from './task-block';
import type { WasmResult } from '../types';

/** Emits `taskComplete` for a settled task: a success when `code` is undefined, else a failure. */
export function emitTaskComplete(
  emitter: PoolEmitter,
  block: TaskBlock,
  index: number,
  waitTimeMs: number,
  executionTimeMs: number,
  output: unknown,
  code?: ErrorCode,
  message?: string,
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
  if (fuelUsed !== undefined) result.fuelUsed = fuelUsed;
  const fn = block.fns[index]!;
  safeEmit(emitter, 'taskComplete', result, {
    module: fn.version.name,
    function: fn.name,
    waitTimeMs: Math.max(0, waitTimeMs),
  });
}
