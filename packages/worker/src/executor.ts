import { getHeapStatistics } from 'node:v8';
import { TaskFault, copyIn, outOfMemoryMessage, readBytes, readJson, readString } from './abi';
import { classify } from './classify';
import { statusOf, type ErrorCode } from './codes';
import { ModuleRuntime, type BoundFunction } from './module-runtime';
import {
  Channel,
  OutputKind,
  Status,
  resultSlotViews,
  runSlotViews,
  type ModuleLoad,
  type ResultsMessage,
  type RunMessage,
} from './protocol';

/** Results already computed are sent at least this often while a long batch runs (ms). */
const FLUSH_INTERVAL_MS = 4;
const HEAP_SAMPLE_INTERVAL_MS = 100;

export type PostResults = (message: ResultsMessage, transfer: ArrayBuffer[]) => void;

/**
 * Runs batches of tasks against the module instances of one worker and reports every task's
 * progress in the status block the pool watches (to time out, abort or account for a task).
 */
export class Executor {
  private readonly modules = new Map<number, ModuleRuntime>();
  /** Why a module cannot be instantiated again after a failure, by module id. */
  private readonly broken = new Map<number, string>();
  private readonly state: Int32Array;
  private readonly startedAt: Float64Array;
  private readonly timeOrigin = performance.timeOrigin;
  private started = 0;
  /** Cancelled task sequence numbers not reached yet, and how many cancellations were read. */
  private readonly cancelled = new Set<number>();
  private cancelsSeen = 0;
  private heapBytes = 0;
  private heapSampledAt = -Infinity;
  private readonly scratch: unknown[] = [];
  private readonly runSlots: ReturnType<typeof runSlotViews>[] = [];
  private readonly resultSlots: ResultArrays[] = [];
  private nextResultSlot = 0;

  constructor(status: SharedArrayBuffer, channel: SharedArrayBuffer) {
    this.state = new Int32Array(status);
    this.startedAt = new Float64Array(status, 0, 2);
    for (let slot = 0; slot < Channel.RUN_SLOTS; slot++) this.runSlots.push(runSlotViews(channel, slot));
    for (let slot = 0; slot < Channel.RESULT_SLOTS; slot++) {
      this.resultSlots.push({ slot, ...resultSlotViews(channel, slot) });
    }
  }

  /** Arrays for `count` results: a free result slot of the channel, else new ones. */
  private resultArrays(count: number): ResultArrays {
    if (count <= Channel.SLOT_TASKS) {
      for (let n = 0; n < Channel.RESULT_SLOTS; n++) {
        const slot = (this.nextResultSlot + n) % Channel.RESULT_SLOTS;
        if (Atomics.compareExchange(this.state, Status.RESULT_BUSY + slot, 0, 1) === 0) {
          this.nextResultSlot = (slot + 1) % Channel.RESULT_SLOTS;
          return this.resultSlots[slot]!;
        }
      }
    }
    const buffer = new ArrayBuffer(count * 25);
    return {
      slot: -1,
      times: new Float64Array(buffer, 0, count * 2),
      values: new Float64Array(buffer, count * 16, count),
      bigValues: new BigInt64Array(buffer, count * 16, count),
      status: new Uint8Array(buffer, count * 24, count),
    };
  }

  async load(load: ModuleLoad): Promise<void> {
    this.modules.set(load.id, await ModuleRuntime.create(load));
  }

  unload(id: number): void {
    this.modules.get(id)?.dispose();
    this.modules.delete(id);
    this.broken.delete(id);
  }

  run(message: RunMessage, post: PostResults): void {
    const { count, refs } = message;
    const { ops, args, bigArgs } = this.runSlots[message.slot]!;
    let out = this.resultArrays(count);
    let { status, values, bigValues, times } = out;
    let outRefs: unknown[] = [];
    let transfer: ArrayBuffer[] = [];
    // One clock read per task: a task starts when the previous one ended.
    let clock = performance.now();
    let flushedAt = clock;
    let first = 0;
    let argPos = 0;
    let refPos = 0;
    let runtime: ModuleRuntime | undefined;
    let runtimeId = -1;
    const callArgs = this.scratch;

    for (let i = 0; i < count; i++) {
      const moduleId = ops[3 * i] as number;
      const fnIndex = ops[3 * i + 1] as number;
      const packed = ops[3 * i + 2] as number;
      const output = (packed & 0xff) as OutputKind;
      const arity = packed >>> 8;
      if (moduleId !== runtimeId) {
        runtime = this.modules.get(moduleId);
        runtimeId = moduleId;
      }
      const bound = runtime?.functions[fnIndex];
      const k = i - first;
      const start = clock;
      this.startedAt[Status.STARTED_AT] = this.timeOrigin + start;
      this.started = (this.started + 1) | 0;
      Atomics.store(this.state, Status.STATE, (this.started << 1) | 1);
      times[2 * k] = this.timeOrigin + start;
      let fault: { code: ErrorCode; message: string } | undefined;
      if (this.isCancelled(this.started & 0x7fffffff)) {
        fault = { code: 'ABORTED', message: 'the task was aborted before it started' };
        while (refs !== null && refs[refPos] === i) refPos += 3;
      } else if (runtime === undefined || bound === undefined) {
        fault = {
          code: 'INVALID_MODULE',
          message: this.broken.get(moduleId) ?? `module version ${moduleId} is not loaded in this worker`,
        };
        while (refs !== null && refs[refPos] === i) refPos += 3;
      } else {
        for (let a = 0; a < arity; a++)
          callArgs[a] = bound.i64Params[a] ? bigArgs[argPos + a] : args[argPos + a];
        try {
          while (refs !== null && refs[refPos] === i) {
            const slot = refs[refPos + 1] as number;
            const data = refs[refPos + 2] as bigint | Uint8Array | string;
            refPos += 3;
            if (typeof data === 'bigint') {
              callArgs[slot] = data;
              continue;
            }
            const { ptr, len } = copyIn(runtime, data);
            callArgs[slot] = ptr;
            callArgs[slot + 1] = len;
          }
          const result = call(bound, callArgs, arity);
          if (runtime.checkMemoryAfterCall && runtime.memoryBytes() > runtime.maxPages * 65536) {
            throw new TaskFault(
              'OUT_OF_MEMORY',
              outOfMemoryMessage(runtime, 'its memory grew past the limit'),
            );
          }
          switch (output) {
            case OutputKind.number:
              values[k] = typeof result === 'bigint' ? Number(result) : (result as number);
              break;
            case OutputKind.bigint:
              bigValues[k] = typeof result === 'bigint' ? result : BigInt(result as number);
              break;
            case OutputKind.bytes: {
              const bytes = readBytes(runtime, result);
              outRefs.push(bytes);
              transfer.push(bytes.buffer as ArrayBuffer);
              break;
            }
            case OutputKind.string:
              outRefs.push(readString(runtime, result));
              break;
            case OutputKind.json:
              outRefs.push(readJson(runtime, result));
              break;
            case OutputKind.multi:
            case OutputKind.auto:
              outRefs.push(result);
              break;
          }
          this.releaseInputs(runtime, refs, i);
        } catch (error) {
          while (refs !== null && refs[refPos] === i) refPos += 3;
          fault = classify(error, runtime);
          this.reset(runtime);
        }
      }
      argPos += arity;
      const end = performance.now();
      clock = end;
      Atomics.store(this.state, Status.STATE, this.started << 1);
      times[2 * k + 1] = end - start;
      if (fault !== undefined) {
        status[k] = statusOf(fault.code);
        outRefs.push(fault.message);
      } else {
        status[k] = 0;
      }
      if (end - flushedAt >= FLUSH_INTERVAL_MS && i + 1 < count) {
        const n = i + 1 - first;
        post(this.results(message.seq, first, n, out, outRefs), transfer);
        first = i + 1;
        clock = flushedAt = performance.now();
        out = this.resultArrays(count - first);
        ({ status, values, bigValues, times } = out);
        outRefs = [];
        transfer = [];
      }
    }
    post(this.results(message.seq, first, count - first, out, outRefs), transfer);
  }

  /** Reads new cancellations from the status block; true if task `seq` is one of them. */
  private isCancelled(seq: number): boolean {
    const cancels = Atomics.load(this.state, Status.CANCELS);
    if (cancels !== this.cancelsSeen) {
      const newer = Math.min(Status.CANCEL_SLOTS, (cancels - this.cancelsSeen) | 0);
      for (let n = 1; n <= newer; n++) {
        const slot = (cancels - n) & (Status.CANCEL_SLOTS - 1);
        this.cancelled.add(Atomics.load(this.state, Status.CANCEL_RING + slot));
      }
      this.cancelsSeen = cancels;
    }
    return this.cancelled.size > 0 && this.cancelled.delete(seq);
  }

  private releaseInputs(runtime: ModuleRuntime, refs: RunMessage['refs'], task: number): void {
    if (refs === null || runtime.dealloc === undefined) return;
    // Inputs were copied in just before the call; their (ptr, len) are still in the argument slots.
    for (let r = 0; r < refs.length; r += 3) {
      if (refs[r] !== task || typeof refs[r + 2] === 'bigint') continue;
      const slot = refs[r + 1] as number;
      runtime.dealloc(this.scratch[slot], this.scratch[slot + 1]);
    }
  }

  private reset(runtime: ModuleRuntime): void {
    try {
      runtime.instantiate();
    } catch (error) {
      runtime.dispose();
      this.broken.set(
        runtime.id,
        `module '${runtime.name}' cannot be instantiated again: ${(error as Error).message}`,
      );
    }
  }

  private results(
    seq: number,
    first: number,
    count: number,
    out: ResultArrays,
    refs: unknown[],
  ): ResultsMessage {
    const inSlot = out.slot >= 0;
    const { status, values, times } = out;
    return {
      type: 'results',
      seq,
      first,
      count,
      slot: out.slot,
      status: inSlot ? null : status.length === count ? status : status.slice(0, count),
      values: inSlot ? null : values.length === count ? values : values.slice(0, count),
      times: inSlot ? null : times.length === count * 2 ? times : times.slice(0, count * 2),
      refs: refs.length === 0 ? null : refs,
      memory: this.memoryChanges(),
      heapBytes: this.sampleHeap(),
    };
  }

  /** Linear memory of modules whose size changed since the last report, as [id, bytes, ...]. */
  memoryChanges(): Float64Array | null {
    let changes: number[] | undefined;
    for (const runtime of this.modules.values()) {
      const bytes = runtime.memoryBytes();
      if (bytes !== runtime.reportedBytes) {
        runtime.reportedBytes = bytes;
        (changes ??= []).push(runtime.id, bytes);
      }
    }
    return changes === undefined ? null : Float64Array.from(changes);
  }

  private sampleHeap(): number {
    const now = performance.now();
    if (now - this.heapSampledAt >= HEAP_SAMPLE_INTERVAL_MS) {
      this.heapSampledAt = now;
      this.heapBytes = getHeapStatistics().used_heap_size;
    }
    return this.heapBytes;
  }
}

/** Where the results of a run of tasks are written: a result slot of the channel, or its own buffer (slot -1). */
interface ResultArrays {
  slot: number;
  status: Uint8Array;
  values: Float64Array;
  bigValues: BigInt64Array;
  times: Float64Array;
}

function call(bound: BoundFunction, a: unknown[], arity: number): unknown {
  const fn = bound.fn;
  switch (arity) {
    case 0:
      return fn();
    case 1:
      return fn(a[0]);
    case 2:
      return fn(a[0], a[1]);
    case 3:
      return fn(a[0], a[1], a[2]);
    case 4:
      return fn(a[0], a[1], a[2], a[3]);
    default:
      return fn(...a.slice(0, arity));
  }
}
