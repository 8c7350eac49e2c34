import type { RunMessage } from '@wasmpool/worker';
import { encodeParams } from './params';
import type { SliceQueue } from './queue';
import { TaskState } from './task-block';
import type { PipelineEntry, RunSlot } from '../workers/worker-handle';

/**
 * Builds run messages from the front of the queue, straight into a run slot of the worker's
 * channel: the message itself carries only the slot number and the byte arguments.
 */
export class BatchEncoder {
  /**
   * Takes up to `limit` waiting tasks off the queue into `target`, fewer if their arguments would
   * not fit in it; returns undefined when none is waiting.
   */
  take(
    queue: SliceQueue,
    limit: number,
    target: RunSlot,
  ): { message: RunMessage; entry: PipelineEntry } | undefined {
    const { ops, args, bigArgs, limits, indices } = target;
    const blocks: PipelineEntry['blocks'] = [];
    const ends: number[] = [];
    const refs: (number | bigint | Uint8Array | string)[] = [];
    let minTimeoutMs = Infinity;
    let count = 0;
    let argPos = 0;
    let full = false;
    while (count < limit && !full) {
      const slice = queue.peek();
      if (slice === undefined) break;
      const { block } = slice;
      const { states, fns, tasks, outputs } = block;
      const first = count;
      while (slice.start < slice.end && count < limit) {
        const i = slice.indices === null ? slice.start : (slice.indices[slice.start] as number);
        if (states[i] !== TaskState.queued) {
          slice.start++;
          continue;
        }
        const fn = fns[i]!;
        const arity = fn.signature.params.length;
        if (argPos + arity > args.length) {
          full = true;
          break;
        }
        slice.start++;
        const op = 3 * count;
        ops[op] = fn.version.id;
        ops[op + 1] = fn.index;
        ops[op + 2] = (outputs[i] as number) | (arity << 8);
        argPos = encodeParams(tasks[i]!.params, fn, args, bigArgs, argPos, count, refs);
        states[i] = TaskState.dispatched;
        indices[count] = i;
        const timeout = block.timeoutOf(i);
        if (timeout < minTimeoutMs) minTimeoutMs = timeout;
        // Sandbox: what an instrumented module's meter needs (see @wasmpool/worker meter.ts).
        limits[2 * count] = timeout;
        limits[2 * count + 1] = block.fuelOf(i);
        count++;
      }
      if (count > first) {
        if (blocks[blocks.length - 1] === block) ends[ends.length - 1] = count;
        else {
          blocks.push(block);
          ends.push(count);
        }
      }
      if (slice.start >= slice.end) queue.shift();
    }
    if (count === 0) return undefined;
    return {
      message: { type: 'run', count, slot: target.slot, refs: refs.length === 0 ? null : refs },
      entry: {
        indices: indices.subarray(0, count),
        blocks,
        ends,
        next: 0,
        minTimeoutMs,
        slot: target.slot,
      },
    };
  }
}
