import { OutputKind, codeOfStatus, ownBytes, type ResultsMessage } from '@wasmpool/worker';
import type { FunctionRef } from '../modules/registry';
import type { WorkerHandle } from '../workers/worker-handle';
import type { TaskLedger } from './ledger';
import { ResultsBlock, TaskState, type TaskBlock } from './task-block';

const timeOrigin = performance.timeOrigin;
/** Read once: a package's exports are getters, too slow for the per-task loop. */
const { number: NUMBER, bigint: BIGINT, bytes: BYTES, void: VOID } = OutputKind;

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
  const views = handle.resultsOf(message);
  const { status, values, bigValues } = views;
  const listening = ledger.emitter.listenerCount('taskComplete') > 0;
  const tally = new RunTimeTally();
  const { blocks, ends, indices } = entry;
  let flushed: TaskBlock | undefined;
  let refPos = 0;
  let run = 0;
  let k = 0;
  while (k < count) {
    while (entry.next >= (ends[run] as number)) run++;
    const block = blocks[run] as TaskBlock;
    // Metered tasks report fuelUsed: the general path (a block's tasks of one function share their fuel).
    if (
      !listening &&
      block instanceof ResultsBlock &&
      block.fuelOf(indices[entry.next] as number) === Infinity
    ) {
      // The hot path of big batches: a run of successful numeric results in one loop.
      const taskFn = block.fns[indices[entry.next] as number];
      const end = Math.min(ends[run] as number, entry.next + count - k);
      const settled =
        taskFn === undefined ? 0 : ledger.settleNumbers(block, indices, entry.next, end, k, taskFn, views);
      if (settled > 0) {
        tally.add(taskFn!, settled, ledger.settledMs);
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
    const startedAt = views.startedAt(k);
    const executionTimeMs = views.executionTimeMs(k);
    const fuelUsed = views.fuelUsed(k);
    const kind = block.outputs[index];
    let output: unknown;
    let error: string | undefined;
    if (taskStatus !== 0) error = refs![refPos++] as string;
    else if (kind === NUMBER) output = values[k];
    else if (kind === BIGINT) output = bigValues[k];
    else if (kind === BYTES) output = ownBytes(refs![refPos++] as Uint8Array);
    else if (kind !== VOID) output = refs![refPos++];
    k++;
    if (block.states[index] !== TaskState.dispatched) continue;
    const taskFn = block.fns[index]!;
    // A slice of runColumns() rows teaches the time of one row, not of the slice.
    tally.add(taskFn, block.callsOf(index), executionTimeMs);
    const waitTimeMs = startedAt - timeOrigin - block.acceptedAt;
    if (error === undefined) ledger.succeed(block, index, output, executionTimeMs, waitTimeMs, fuelUsed);
    else
      ledger.failReported(
        block,
        index,
        codeOfStatus(taskStatus),
        error,
        executionTimeMs,
        waitTimeMs,
        fuelUsed,
      );
    if (block !== flushed) {
      flushed?.flush();
      flushed = block;
    }
  }
  if (entry.next === indices.length) handle.completeEntry();
  tally.apply();
  flushed?.flush();
}
