import { getHeapStatistics } from 'node:v8';
import { TaskFault, copyIn, outOfMemoryMessage, readBytes, readJson, readString } from './abi';
import { classify } from './classify';
import { TaskInterrupt, TaskMeter } from './meter';
import { runColumnRows, type ColumnsRequest } from './columns';
import { OutputPacker } from './output-packer';
import { statusOf, type ErrorCode } from './codes';
import { ModuleRuntime, type BoundFunction } from './module-runtime';
import { Channel, ResultSlot, RunSlot } from './codec';
import { OutputKind, Status, type ModuleLoad, type ResultsMessage, type RunMessage } from './protocol';
import { sendableResult } from './sendable';

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
  private readonly runSlots: RunSlot[] = [];
  private readonly resultSlots: ResultSlot[] = [];
  private nextResultSlot = 0;
  /** Bytes outputs of the results message being filled. */
  private readonly outputs = new OutputPacker();
  /** Sandbox: stops and meters the running task of an instrumented module (see meter.ts). */
  private readonly meter: TaskMeter;

  constructor(status: SharedArrayBuffer, channel: SharedArrayBuffer) {
    this.state = new Int32Array(status);
    this.meter = new TaskMeter(this.state);
    this.startedAt = new Float64Array(status, 0, 2);
    for (let slot = 0; slot < Channel.RUN_SLOTS; slot++) this.runSlots.push(new RunSlot(channel, slot));
    for (let slot = 0; slot < Channel.RESULT_SLOTS; slot++)
      this.resultSlots.push(ResultSlot.shared(channel, slot));
  }

  /** Room for `count` results: a free result slot of the channel, else arrays of its own. */
  private resultArrays(count: number): ResultSlot {
    if (count <= Channel.SLOT_TASKS) {
      for (let n = 0; n < Channel.RESULT_SLOTS; n++) {
        const slot = (this.nextResultSlot + n) % Channel.RESULT_SLOTS;
        if (Atomics.compareExchange(this.state, Status.RESULT_BUSY + slot, 0, 1) === 0) {
          this.nextResultSlot = (slot + 1) % Channel.RESULT_SLOTS;
          return this.resultSlots[slot]!;
        }
      }
    }
    return ResultSlot.own(count);
  }

  async load(load: ModuleLoad): Promise<void> {
    this.modules.set(load.id, await ModuleRuntime.create(load, this.meter));
  }

  unload(id: number): void {
    this.modules.get(id)?.dispose();
    this.modules.delete(id);
    this.broken.delete(id);
  }

  run(message: RunMessage, post: PostResults): void {
    const { count, refs } = message;
    const run = this.runSlots[message.slot]!;
    const { args, bigArgs } = run;
    this.meter.limits = run.limits;
    let out = this.resultArrays(count);
    let { values, bigValues } = out;
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
    let resetAfterPost: ModuleRuntime | undefined;
    const callArgs = this.scratch;

    for (let i = 0; i < count; i++) {
      const moduleId = run.moduleId(i);
      const fnIndex = run.fnIndex(i);
      const output = run.output(i);
      const arity = run.arity(i);
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
      out.started(k, this.timeOrigin + start);
      let fault: { code: ErrorCode; message: string } | undefined;
      let fuelUsed = -1;
      if (this.isCancelled(this.started & 0x7fffffff)) {
        fault = { code: 'ABORTED', message: 'the task was aborted before it started' };
        while (refs !== null && refs[refPos] === i) refPos += 3;
      } else if (runtime === undefined || bound === undefined) {
        fault = {
          code: 'INVALID_MODULE',
          message: this.broken.get(moduleId) ?? `module version ${moduleId} is not loaded in this worker`,
        };
        while (refs !== null && refs[refPos] === i) refPos += 3;
      } else if (output === OutputKind.columns) {
        const request = refs![refPos + 2] as ColumnsRequest;
        refPos += 3;
        const live = runtime;
        this.meter.index = i;
        outRefs.push(runColumnRows(live, fnIndex, request, () => this.reset(live)));
      } else {
        for (let a = 0; a < arity; a++)
          callArgs[a] = bound.i64Params[a] ? bigArgs[argPos + a] : args[argPos + a];
        this.meter.index = i;
        const taskFuel = run.fuel(i);
        let target: BoundFunction | undefined = bound;
        if (taskFuel !== Infinity && runtime.budget !== undefined) {
          // The same task uses the same fuel only from the same state (an allocator's free lists, a
          // cache): a metered task runs on an instance as it was made, put back or made again.
          if (runtime.used && !runtime.restoreFresh()) target = this.freshInstance(runtime, fnIndex);
          if (target !== undefined) runtime.budget!.value = this.meter.beginMetered(taskFuel);
        }
        runtime.used = true;
        try {
          if (target === undefined) {
            throw new TaskFault('INVALID_MODULE', this.broken.get(moduleId) ?? 'the module has no instance');
          }
          while (refs !== null && refs[refPos] === i) {
            const slot = refs[refPos + 1] as number;
            const data = refs[refPos + 2] as bigint | Uint8Array | string;
            refPos += 3;
            if (typeof data === 'bigint' || bound.raw === true) {
              callArgs[slot] = data;
              continue;
            }
            const { ptr, len } = copyIn(runtime, data);
            callArgs[slot] = ptr;
            callArgs[slot + 1] = len;
          }
          const result = call(target, callArgs, arity);
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
            case OutputKind.bytes:
              outRefs.push(
                readBytes(runtime, result, (source) => this.outputs.copy(source, transfer, count - i)),
              );
              break;
            case OutputKind.string:
              outRefs.push(readString(runtime, result));
              break;
            case OutputKind.json:
              outRefs.push(readJson(runtime, result));
              break;
            case OutputKind.multi:
            case OutputKind.auto:
              // A raw call (command, adapter) returns a structured-cloneable value it checked itself.
              outRefs.push(bound.raw === true ? result : sendableResult(result));
              break;
          }
          this.releaseInputs(runtime, refs, i);
          if (this.meter.metered) fuelUsed = this.meter.endMetered(runtime.budget!.value as number);
        } catch (error) {
          while (refs !== null && refs[refPos] === i) refPos += 3;
          fault = classify(error, runtime);
          if (this.meter.metered) fuelUsed = this.meter.endMetered(runtime.budget!.value as number);
          // Before the new instance's start function can call the check: it is not the task's.
          this.meter.index = -1;
          // When the last task of a message was stopped (an interrupt), its instance is made again
          // once its result is sent: its caller hears of it without waiting for that.
          if (i + 1 === count && error instanceof TaskInterrupt) resetAfterPost = runtime;
          else this.reset(runtime);
        }
      }
      argPos += arity;
      const end = performance.now();
      clock = end;
      Atomics.store(this.state, Status.STATE, this.started << 1);
      if (fault !== undefined) {
        out.ended(k, end - start, statusOf(fault.code), fuelUsed);
        outRefs.push(fault.message);
      } else {
        out.ended(k, end - start, 0, fuelUsed);
      }
      if (end - flushedAt >= FLUSH_INTERVAL_MS && i + 1 < count) {
        const n = i + 1 - first;
        post(this.results(message.seq, first, n, out, outRefs), transfer);
        this.outputs.sent();
        first = i + 1;
        clock = flushedAt = performance.now();
        out = this.resultArrays(count - first);
        ({ values, bigValues } = out);
        outRefs = [];
        transfer = [];
      }
    }
    post(this.results(message.seq, first, count - first, out, outRefs), transfer);
    this.outputs.sent();
    if (resetAfterPost !== undefined) this.reset(resetAfterPost);
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

  /** Makes `runtime`'s instance again before a metered task; the function to call, or undefined if it cannot be. */
  private freshInstance(runtime: ModuleRuntime, fnIndex: number): BoundFunction | undefined {
    const task = this.meter.index;
    // The new instance's start function is not the task's work.
    this.meter.index = -1;
    this.reset(runtime);
    this.meter.index = task;
    return runtime.functions[fnIndex];
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
    out: ResultSlot,
    refs: unknown[],
  ): ResultsMessage {
    return {
      type: 'results',
      seq,
      first,
      count,
      slot: out.slot,
      arrays: out.slot >= 0 ? null : out.arrays(count),
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
