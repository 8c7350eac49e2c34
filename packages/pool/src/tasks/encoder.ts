import type { RunMessage } from '@wasmpool/worker';
import type { TaskLedger } from './ledger';
import { encodeParams } from './params';
import { TaskState } from './task-block';
import type { PipelineEntry, RunSlot } from '../workers/worker-handle';

/** Run messages get sequence numbers; results name the message they answer (checked on arrival). */
let nextMessageSeq = 1;

/**
 * Builds run messages from the front of the queue, straight into a run slot of the worker's
 * channel: the message itself carries only the slot number and the byte arguments. A task's
 * arguments come from its block, where admission stored them.
 */
export class BatchEncoder {
  constructor(private readonly ledger: TaskLedger) {}

  /**
   * Takes up to `limit` queued tasks into `target`, fewer if their arguments would not fit in it;
   * returns undefined when none is queued.
   */
  take(limit: number, target: RunSlot): { message: RunMessage; entry: PipelineEntry } | undefined {
    const { ledger } = this;
    const queue = ledger.queue;
    const { ops, args, bigArgs, indices } = target;
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
      const { states, fns, outputs, argAt } = block;
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
        const at = argAt[i] as number;
        if (at >= 0) {
          const stored = block.args;
          for (let a = 0; a < arity; a++) args[argPos + a] = stored[at + a] as number;
          argPos += arity;
        } else {
          argPos = encodeParams(block.params![i], fn, args, bigArgs, argPos, count, refs);
        }
        ledger.dispatched(block, i);
        indices[count] = i;
        const timeout = block.timeoutOf(i);
        if (timeout < minTimeoutMs) minTimeoutMs = timeout;
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
    ledger.sent(count);
    const seq = nextMessageSeq++;
    return {
      message: { type: 'run', seq, count, slot: target.slot, refs: refs.length === 0 ? null : refs },
      entry: {
        seq,
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
