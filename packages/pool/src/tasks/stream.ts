import { WasmPoolError, errorText } from '../errors';
import type { WasmResult } from '../types';
import type { Scheduler } from '../workers/scheduler';
import { onAbort } from './abort-watch';
import { abortMessage, type CallOptions } from './call-options';
import type { TaskIntake } from './intake';
import { StreamChunk } from './task-block';

/** The pulls of an asynchronous source that resolve within one turn of the event loop form one chunk. */
type Source =
  { kind: 'sync'; iterator: Iterator<unknown> } | { kind: 'async'; iterator: AsyncIterator<unknown> };

/** Opens the source's iterator; throws INVALID_PARAMS when it is not an iterable of tasks. */
function openSource(source: unknown): Source {
  try {
    if (source !== null && typeof source === 'object') {
      const asyncIterate = (source as AsyncIterable<unknown>)[Symbol.asyncIterator];
      if (typeof asyncIterate === 'function') {
        return { kind: 'async', iterator: asyncIterate.call(source) as AsyncIterator<unknown> };
      }
      const iterate = (source as Iterable<unknown>)[Symbol.iterator];
      if (typeof iterate === 'function')
        return { kind: 'sync', iterator: iterate.call(source) as Iterator<unknown> };
    }
  } catch (error) {
    throw new WasmPoolError('INVALID_PARAMS', `the task source could not be iterated: ${errorText(error)}`, {
      cause: error,
    });
  }
  throw new WasmPoolError('INVALID_PARAMS', 'stream() takes an Iterable or AsyncIterable of tasks');
}

/** An iterator result, checked as `for...of` checks it: anything but an object is the source's fault. */
function stepOf(step: unknown): IteratorResult<unknown> {
  if (typeof step !== 'object' || step === null) {
    throw new TypeError(`its iterator's next() returned ${String(step)}, not an { done, value } object`);
  }
  return step as IteratorResult<unknown>;
}

function sourceError(error: unknown): WasmPoolError {
  return new WasmPoolError('INVALID_PARAMS', `the task source threw: ${errorText(error)}`, { cause: error });
}

/**
 * The results of a stream of tasks. Tasks are pulled only while fewer than `highWaterMark` are held
 * (pulled and not yet consumed), admitted in chunks (a chunk is a block: the tasks pulled at once),
 * and fed to the queue by the ledger like a batch's. Leaving the loop early cancels every held task
 * that has not started; an aborted signal stops pulling and fails the held tasks with ABORTED.
 */
export function streamResults(
  intake: TaskIntake,
  scheduler: Scheduler,
  source: unknown,
  call: CallOptions,
): AsyncIterable<WasmResult> {
  const src = openSource(source);
  return pump(intake, scheduler, src, call);
}

async function* pump(
  intake: TaskIntake,
  scheduler: Scheduler,
  src: Source,
  call: CallOptions,
): AsyncGenerator<WasmResult, void, undefined> {
  const { recovery, ledger } = scheduler;
  const { signal, highWaterMark: window, ordered } = call;
  /** Chunks with results not yet consumed, in order. */
  const chunks: StreamChunk[] = [];
  let held = 0;
  let position = 0;
  let sourceDone = false;
  let failure: WasmPoolError | undefined;
  let aborted = false;
  let finished = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };

  const submit = (tasks: unknown[]): void => {
    const chunk = new StreamChunk(call.timeoutMs, tasks.length, position, notify);
    chunk.fuel = call.fuel;
    position += tasks.length;
    held += tasks.length;
    chunks.push(chunk);
    intake.admitAll(
      chunk,
      (i) => tasks[i],
      () => true,
      signal,
    );
    chunk.flush();
  };

  // An asynchronous source is pulled by its own loop, so that a slow source does not hold back
  // the results of tasks already pulled; pulls that resolve in one turn of the event loop are
  // admitted together (setImmediate runs once the turn's microtasks are done).
  let pending: unknown[] = [];
  let flushing: NodeJS.Immediate | undefined;
  let pulling = false;
  const flushPending = (): void => {
    flushing = undefined;
    if (pending.length === 0 || finished) return;
    if (intake.closed) {
      // Pulled, never accepted: the stream ends with POOL_CLOSED.
      pending = [];
      notify();
      return;
    }
    const tasks = pending;
    pending = [];
    submit(tasks);
    notify();
  };
  const pullAsync = async (iterator: AsyncIterator<unknown>): Promise<void> => {
    pulling = true;
    try {
      while (!sourceDone && !aborted && !finished && !intake.closed && held + pending.length < window) {
        const step = stepOf(await iterator.next());
        if (finished) return;
        if (step.done === true) {
          sourceDone = true;
          break;
        }
        pending.push(step.value);
        flushing ??= setImmediate(flushPending);
      }
    } catch (error) {
      failure = sourceError(error);
      sourceDone = true;
    } finally {
      pulling = false;
      if (pending.length > 0 && flushing === undefined) flushing = setImmediate(flushPending);
      notify();
    }
  };

  const abortHeld = (): void => {
    aborted = true;
    const message = abortMessage(signal!);
    for (const chunk of chunks) recovery.abortBlock(chunk, message);
    notify();
  };
  const stopWatching = signal === undefined ? undefined : onAbort(signal, abortHeld);
  if (signal?.aborted === true) aborted = true;
  const stopHearingClose = intake.onClose(notify);

  try {
    for (;;) {
      // A pool closed mid-stream takes no more tasks: what is held is handed out, then the stream
      // ends with POOL_CLOSED (the source was not run to its end).
      if (!sourceDone && !aborted && intake.closed && failure === undefined) {
        sourceDone = true;
        failure = new WasmPoolError(
          'POOL_CLOSED',
          `the pool was closed after ${position} tasks of this stream`,
        );
      }
      // Pull once half the window is free (chunks of tasks, not a few at a time), up to the window.
      if (!sourceDone && !aborted && held <= window >> 1) {
        if (src.kind === 'sync') {
          const tasks: unknown[] = [];
          const room = window - held;
          try {
            while (tasks.length < room) {
              const step = stepOf(src.iterator.next());
              if (step.done === true) {
                sourceDone = true;
                break;
              }
              tasks.push(step.value);
            }
          } catch (error) {
            // The source broke: what it gave is accepted and handed out, then the stream throws.
            failure = sourceError(error);
            sourceDone = true;
          }
          if (tasks.length > 0) submit(tasks);
        } else if (!pulling) {
          void pullAsync(src.iterator);
        }
      }
      // Hand out what is ready.
      let handed = false;
      for (let c = 0; c < chunks.length; c++) {
        const chunk = chunks[c]!;
        const { results } = chunk;
        for (let i = chunk.cursor; i < chunk.size; i++) {
          if (results[i] === undefined) {
            if (ordered) break;
            continue;
          }
          held--;
          handed = true;
          yield chunk.hand(i);
        }
        if (chunk.handed === chunk.size) {
          chunks.splice(c, 1);
          c--;
        } else if (ordered) {
          break;
        }
      }
      // A pull still awaited when the stream was aborted, or its pool closed, is not waited for (the
      // source may never answer): what it brings later is dropped, never accepted.
      const drained =
        chunks.length === 0 && pending.length === 0 && (!pulling || aborted || failure !== undefined);
      if (drained && (sourceDone || aborted)) {
        finished = true;
        if (pulling) closeSource(src);
        if (failure !== undefined) throw failure;
        return;
      }
      const canPull = !sourceDone && !aborted && held <= window >> 1 && src.kind === 'sync';
      if (!handed && !canPull) await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stopWatching?.();
    stopHearingClose();
    if (!finished) {
      finished = true;
      if (flushing !== undefined) clearImmediate(flushing);
      // Left early: what has not started is cancelled; what runs finishes unseen.
      for (const chunk of chunks) {
        for (let index = 0; index < chunk.size; index++) {
          if (ledger.isOpen(chunk, index)) {
            recovery.cancelUnstarted(chunk, index, 'ABORTED', 'the stream was left before this task started');
          }
        }
      }
      closeSource(src);
    }
  }
}

/** Tells a source that no more will be pulled (its `return()`, as `for...of` does when left early). */
function closeSource(src: Source): void {
  try {
    const iterator = src.iterator as { return?: () => unknown };
    if (typeof iterator.return === 'function') void Promise.resolve(iterator.return()).catch(() => undefined);
  } catch {
    // A source whose return() throws is closed all the same.
  }
}
