import type { RunMessage } from '@wasmpool/worker';
import { encodeParams } from './params';
import type { SliceQueue } from './queue';
import { TaskState } from './task-block';
import type { PipelineEntry } from './worker-handle';

/**
 * Builds run messages from the front of the queue. Scratch arrays are reused from one message to
 * the next; each message gets its own copies of the used parts.
 */
export class BatchEncoder {
  private ops = new Int32Array(3 * 1024);
  private args = new Float64Array(4 * 1024);
  private bigArgs = new BigInt64Array(this.args.buffer);
  private indices = new Int32Array(1024);

  /** Takes up to `limit` waiting tasks off the queue; returns undefined when none is waiting. */
  take(queue: SliceQueue, limit: number): { message: RunMessage; entry: PipelineEntry } | undefined {
    const blocks: PipelineEntry['blocks'] = [];
    const ends: number[] = [];
    const refs: (number | bigint | Uint8Array | string)[] = [];
    let minTimeoutMs = Infinity;
    let count = 0;
    let argPos = 0;
    while (count < limit) {
      const slice = queue.peek();
      if (slice === undefined) break;
      const { block } = slice;
      const { states, fns, tasks, outputs } = block;
      const first = count;
      while (slice.start < slice.end && count < limit) {
        const i = slice.indices === null ? slice.start : (slice.indices[slice.start] as number);
        slice.start++;
        if (states[i] !== TaskState.queued) continue;
        const fn = fns[i]!;
        const arity = fn.signature.params.length;
        if (count === this.indices.length) this.growOps();
        if (argPos + arity > this.args.length) this.growArgs(argPos + arity);
        const op = 3 * count;
        this.ops[op] = fn.version.id;
        this.ops[op + 1] = fn.index;
        this.ops[op + 2] = (outputs[i] as number) | (arity << 8);
        argPos = encodeParams(tasks[i]!.params, fn, this.args, this.bigArgs, argPos, count, refs);
        states[i] = TaskState.dispatched;
        this.indices[count] = i;
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
    return {
      message: {
        type: 'run',
        count,
        ops: this.ops.slice(0, 3 * count),
        args: this.args.slice(0, argPos),
        refs: refs.length === 0 ? null : refs,
      },
      entry: { indices: this.indices.slice(0, count), blocks, ends, next: 0, minTimeoutMs },
    };
  }

  private growOps(): void {
    const ops = new Int32Array(this.ops.length * 2);
    ops.set(this.ops);
    this.ops = ops;
    const indices = new Int32Array(this.indices.length * 2);
    indices.set(this.indices);
    this.indices = indices;
  }

  private growArgs(needed: number): void {
    const args = new Float64Array(Math.max(needed, this.args.length * 2));
    args.set(this.args);
    this.args = args;
    this.bigArgs = new BigInt64Array(args.buffer);
  }
}
