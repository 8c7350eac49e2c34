import { OutputKind, type RunMessage, type TaskRef } from '@wasmpool/worker';
import type { FunctionRef } from '../modules/registry';
import type { TaskLedger } from './ledger';
import { encodeParams } from './params';
import { encodeRealTask } from './real-tasks';
import { TaskState } from './task-block';
import type { PipelineEntry, RunTarget } from '../workers/worker-handle';

/** Read once: a package's exports are getters, too slow for the per-task loop. */
const COLUMNS = OutputKind.columns;

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
  take(limit: number, target: RunTarget): { message: RunMessage; entry: PipelineEntry } | undefined {
    const { ledger } = this;
    const queue = ledger.queue;
    const { run, indices } = target;
    const { args, bigArgs } = run;
    const blocks: PipelineEntry['blocks'] = [];
    const ends: number[] = [];
    const refs: TaskRef[] = [];
    let minTimeoutMs = Infinity;
    let count = 0;
    let argPos = 0;
    let full = false;
    while (count < limit && !full) {
      const slice = queue.peek();
      if (slice === undefined) break;
      const { block } = slice;
      const { states, fns, outputs, argAt, timeouts, fuels, timeoutMs } = block;
      const blockFuel = block.fuel;
      // Per function, the module's default fuel (read once per run of tasks of one function).
      let lastFn: FunctionRef | undefined;
      let fnFuel = Infinity;
      const first = count;
      while (slice.start < slice.end && count < limit) {
        const i = slice.indices === null ? slice.start : (slice.indices[slice.start] as number);
        if (states[i] !== TaskState.queued) {
          slice.start++;
          continue;
        }
        const fn = fns[i]!;
        const kind = outputs[i] as OutputKind;
        // A slice of runColumns() rows passes its request, not arguments.
        const arity = kind === COLUMNS ? 0 : fn.signature.params.length;
        if (argPos + arity > args.length) {
          full = true;
          break;
        }
        slice.start++;
        run.writeTask(count, fn.version.id, fn.index, kind, arity);
        const at = argAt[i] as number;
        if (kind === COLUMNS) {
          refs.push(count, 0, block.params![i]![0] as unknown as TaskRef);
        } else if (at >= 0) {
          const stored = block.args;
          for (let a = 0; a < arity; a++) args[argPos + a] = stored[at + a] as number;
          argPos += arity;
        } else if (fn.real !== undefined) {
          argPos = encodeRealTask(block.params![i], argPos, count, refs);
        } else {
          argPos = encodeParams(block.params![i], fn, args, bigArgs, argPos, count, refs);
        }
        ledger.dispatched(block, i);
        indices[count] = i;
        // TaskBlock.timeoutOf and fuelOf, inlined: the per-task loop of every message.
        const timeout = timeouts === undefined ? timeoutMs : (timeouts[i] ?? timeoutMs);
        if (timeout < minTimeoutMs) minTimeoutMs = timeout;
        if (fn !== lastFn) {
          lastFn = fn;
          fnFuel = fn.version.load.fuel ?? Infinity;
        }
        // What an instrumented module's meter needs (see @wasmpool/worker meter.ts); a runColumns()
        // slice's fuel is per row, over its rows (ColumnsBlock.fuelOf).
        const fuel = kind === COLUMNS ? block.fuelOf(i) : (fuels?.[i] ?? blockFuel ?? fnFuel);
        run.writeLimits(count, timeout, fuel);
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
      message: {
        type: 'run',
        seq,
        count,
        slot: run.slot,
        refs: refs.length === 0 ? null : refs,
        spin: false,
      },
      entry: {
        seq,
        indices: indices.subarray(0, count),
        blocks,
        ends,
        next: 0,
        minTimeoutMs,
        slot: run.slot,
      },
    };
  }
}
