import { OutputKind, codeOfStatus, type ResultsMessage } from '@wasmpool/worker';
import type { FunctionRef } from '../modules/registry';
import type { WorkerHandle } from '../workers/worker-handle';
import type { TaskLedger } from './ledger';
import { ResultsBlock, TaskState, type TaskBlock } from './task-block';

const timeOrigin = performance.timeOrigin;

/** Learns each function's mean run time (it sizes messages), over a run of its tasks at once. */
class RunTimeTally {
  private fn: FunctionRef | undefined;
  private tasks = 0;
  private totalMs = 0;

  add(fn: FunctionRef, tasks: number, totalMs: number): void {
    if (fn !== this.fn) {
      this.apply();
      this.fn = fn;
    }
    this.tasks += tasks;
    this.totalMs += totalMs;
  }

  apply(): void {
    const fn = this.fn;
    if (fn === undefined || this.tasks === 0) return;
    const meanMs = this.totalMs / this.tasks;
    fn.meanRunMs = fn.meanRunMs < 0 ? meanMs : fn.meanRunMs * 0.8 + meanMs * 0.2;
    this.tasks = 0;
    this.totalMs = 0;
  }
}

/**
 * Reads a worker's results message and has the ledger settle the tasks it reports, in the order
 * they were sent to the worker. A task settled meanwhile (by an abort or a timeout) is skipped. The
 * message must answer the oldest unanswered run message of the worker, from where the last one
 * stopped: anything else would hand a task another task's result, so it is refused (`violation`)
 * and nothing is settled from it. Blocks hear of their progress once per message.
 */
export function settleResults(
  ledger: TaskLedger,
  handle: WorkerHandle,
  message: ResultsMessage,
  violation: (message: string) => void,
): void {
  const { count, refs } = message;
  const head = handle.pipeline[0];
  if (
    head === undefined ||
    head.seq !== message.seq ||
    head.next !== message.first ||
    head.next + count > head.indices.length
  ) {
    violation(
      `worker ${handle.id} reported results of message ${message.seq} from ${message.first}, but ${
        head === undefined ? 'no message is out' : `message ${head.seq} waits from ${head.next}`
      }`,
    );
    return;
  }
  const entry = head;
  const views = handle.resultViews(message);
  const { status, values, bigValues, times } = views;
  const listening = ledger.emitter.listenerCount('taskComplete') > 0;
  const stats = ledger.stats;
  const tally = new RunTimeTally();
  const { blocks, ends, indices } = entry;
  let flushed: TaskBlock | undefined;
  let refPos = 0;
  let run = 0;
  let k = 0;
  while (k < count) {
    while (entry.next >= (ends[run] as number)) run++;
    const block = blocks[run] as TaskBlock;
    if (!listening && block instanceof ResultsBlock) {
      // The hot path of big batches: a run of successful numeric results in one loop.
      const taskFn = block.fns[indices[entry.next] as number];
      const end = Math.min(ends[run] as number, entry.next + count - k);
      const settled =
        taskFn === undefined ? 0 : block.settleNumbers(indices, entry.next, end, k, taskFn, views, stats);
      if (settled > 0) {
        tally.add(taskFn!, settled, block.settledMs);
        ledger.settledRun(taskFn!, settled);
        entry.next += settled;
        k += settled;
        if (block !== flushed) {
          flushed?.flush();
          flushed = block;
        }
        continue;
      }
    }
    const index = indices[entry.next] as number;
    entry.next++;
    const taskStatus = status[k] as number;
    const startedAt = times[2 * k] as number;
    const executionTimeMs = times[2 * k + 1] as number;
    const kind = block.outputs[index];
    let output: unknown;
    let error: string | undefined;
    if (taskStatus !== 0) error = refs![refPos++] as string;
    else if (kind === OutputKind.number) output = values[k];
    else if (kind === OutputKind.bigint) output = bigValues[k];
    else if (kind !== OutputKind.void) output = refs![refPos++];
    k++;
    if (block.states[index] !== TaskState.dispatched) continue;
    const taskFn = block.fns[index]!;
    tally.add(taskFn, 1, executionTimeMs);
    const waitTimeMs = startedAt - timeOrigin - block.acceptedAt;
    if (error === undefined) ledger.succeed(block, index, output, executionTimeMs, waitTimeMs);
    else ledger.failReported(block, index, codeOfStatus(taskStatus), error, executionTimeMs, waitTimeMs);
    if (block !== flushed) {
      flushed?.flush();
      flushed = block;
    }
  }
  if (entry.next === indices.length) handle.completeEntry();
  tally.apply();
  flushed?.flush();
}
