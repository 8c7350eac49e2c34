/**
 * The wire codec: the one place that knows how tasks and results are laid out in the typed arrays
 * of a worker's channel (a SharedArrayBuffer the pool and the worker share). The pool writes run
 * slots and reads result slots; the worker reads run slots and writes result slots; both through
 * the classes below.
 *
 * The channel: run slots, one per message a worker may hold, and result slots, one per results
 * message in flight. A run slot is written by the pool, named in a run message, and reused once
 * every result of that message has arrived. The worker claims a free result slot
 * (Status.RESULT_BUSY) for each results message; the pool frees it once it has read it. When none
 * is free, the worker writes into arrays of its own that travel in the message.
 */
import type { OutputKind } from './protocol';

export const Channel = {
  /** Tasks a slot holds: the most the pool puts in one message. */
  SLOT_TASKS: 4096,
  /** f64 argument slots of a run slot (a message ends early rather than overflow it). */
  SLOT_ARGS: 16384,
  RUN_SLOTS: 2,
  RESULT_SLOTS: 4,
} as const;

/** Per task of a run slot: module id, function index, OutputKind | (arity << 8). */
const OP_WORDS = 3;
/** Per task of a run slot, after the args: its timeout (ms) and its fuel (Infinity: none), as f64. */
const LIMIT_WORDS = 2;
const RUN_SLOT_BYTES =
  Channel.SLOT_TASKS * OP_WORDS * 4 + Channel.SLOT_ARGS * 8 + Channel.SLOT_TASKS * LIMIT_WORDS * 8;
/** Per result: start time and execution time (2 f64), value (f64 or i64), fuel used (f64), status (u8). */
const RESULT_BYTES = 33;
const RESULT_SLOT_BYTES = Channel.SLOT_TASKS * RESULT_BYTES;

/** Size of a channel buffer. */
export const CHANNEL_BYTES = Channel.RUN_SLOTS * RUN_SLOT_BYTES + Channel.RESULT_SLOTS * RESULT_SLOT_BYTES;

/**
 * A run slot: for task i of a message, which function it calls, how its output is read, its wasm
 * arguments (the next `arity` entries of `args`: an f64, or an i64 read through `bigArgs`), and its
 * limits (`limits[2i]` timeout in ms, `limits[2i+1]` fuel; read by instrumented modules' meter).
 */
export class RunSlot {
  readonly ops: Int32Array;
  readonly args: Float64Array;
  readonly bigArgs: BigInt64Array;
  readonly limits: Float64Array;

  constructor(
    channel: SharedArrayBuffer,
    readonly slot: number,
  ) {
    const at = slot * RUN_SLOT_BYTES;
    const argsAt = at + Channel.SLOT_TASKS * OP_WORDS * 4;
    this.ops = new Int32Array(channel, at, Channel.SLOT_TASKS * OP_WORDS);
    this.args = new Float64Array(channel, argsAt, Channel.SLOT_ARGS);
    this.bigArgs = new BigInt64Array(channel, argsAt, Channel.SLOT_ARGS);
    this.limits = new Float64Array(channel, argsAt + Channel.SLOT_ARGS * 8, Channel.SLOT_TASKS * LIMIT_WORDS);
  }

  /** Pool: task `i`'s timeout (ms) and fuel (Infinity: not metered). */
  writeLimits(i: number, timeoutMs: number, fuel: number): void {
    this.limits[LIMIT_WORDS * i] = timeoutMs;
    this.limits[LIMIT_WORDS * i + 1] = fuel;
  }

  fuel(i: number): number {
    return this.limits[LIMIT_WORDS * i + 1] as number;
  }

  /** Pool: task `i` calls function `fnIndex` of module version `moduleId`. */
  writeTask(i: number, moduleId: number, fnIndex: number, output: OutputKind, arity: number): void {
    const op = OP_WORDS * i;
    this.ops[op] = moduleId;
    this.ops[op + 1] = fnIndex;
    this.ops[op + 2] = output | (arity << 8);
  }

  moduleId(i: number): number {
    return this.ops[OP_WORDS * i] as number;
  }

  fnIndex(i: number): number {
    return this.ops[OP_WORDS * i + 1] as number;
  }

  output(i: number): OutputKind {
    return ((this.ops[OP_WORDS * i + 2] as number) & 0xff) as OutputKind;
  }

  arity(i: number): number {
    return (this.ops[OP_WORDS * i + 2] as number) >>> 8;
  }
}

/** The arrays of results that travel in a results message when no result slot was free. */
export interface ResultArrays {
  status: Uint8Array;
  values: Float64Array;
  times: Float64Array;
  fuel: Float64Array;
}

/**
 * Results of a run of tasks, result k for the k-th of them: its status (0 = success, else error
 * code index + 1, see codes.ts), its numeric value (f64, or i64 through `bigValues`), its absolute
 * start time (ms since the epoch) and its execution time (ms). In a result slot of the channel
 * (`slot` ≥ 0) or in arrays of its own (`slot` -1), which then travel in the message.
 */
export class ResultSlot {
  readonly bigValues: BigInt64Array;

  private constructor(
    readonly slot: number,
    readonly status: Uint8Array,
    readonly values: Float64Array,
    readonly times: Float64Array,
    /** Fuel a metered task used; -1 for a task that was not metered. */
    readonly fuel: Float64Array,
  ) {
    this.bigValues = new BigInt64Array(values.buffer, values.byteOffset, values.length);
  }

  private static over(slot: number, buffer: ArrayBufferLike, at: number, tasks: number): ResultSlot {
    return new ResultSlot(
      slot,
      new Uint8Array(buffer, at + tasks * 32, tasks),
      new Float64Array(buffer, at + tasks * 16, tasks),
      new Float64Array(buffer, at, tasks * 2),
      new Float64Array(buffer, at + tasks * 24, tasks),
    );
  }

  /** Result slot `slot` of a channel. */
  static shared(channel: SharedArrayBuffer, slot: number): ResultSlot {
    const at = Channel.RUN_SLOTS * RUN_SLOT_BYTES + slot * RESULT_SLOT_BYTES;
    return ResultSlot.over(slot, channel, at, Channel.SLOT_TASKS);
  }

  /** Arrays of its own for `count` results (worker: no result slot was free). */
  static own(count: number): ResultSlot {
    return ResultSlot.over(-1, new ArrayBuffer(count * RESULT_BYTES), 0, count);
  }

  /** Pool: the arrays a results message carried. */
  static received(arrays: ResultArrays): ResultSlot {
    return new ResultSlot(-1, arrays.status, arrays.values, arrays.times, arrays.fuel);
  }

  /** Worker: result k's task started at `startedAt` (ms since the epoch). */
  started(k: number, startedAt: number): void {
    this.times[2 * k] = startedAt;
  }

  /** Worker: result k's task ended after `executionTimeMs`, with `status` (0 = success), using `fuelUsed` (-1: not metered). */
  ended(k: number, executionTimeMs: number, status: number, fuelUsed: number): void {
    this.times[2 * k + 1] = executionTimeMs;
    this.status[k] = status;
    this.fuel[k] = fuelUsed;
  }

  /** Pool: the fuel result k's task used, or undefined when it was not metered. */
  fuelUsed(k: number): number | undefined {
    const used = this.fuel[k] as number;
    return used < 0 ? undefined : used;
  }

  startedAt(k: number): number {
    return this.times[2 * k] as number;
  }

  executionTimeMs(k: number): number {
    return this.times[2 * k + 1] as number;
  }

  /** Worker: the arrays of its first `count` results, to travel in the message (own arrays only). */
  arrays(count: number): ResultArrays {
    const { status, values, times, fuel } = this;
    return {
      status: status.length === count ? status : status.slice(0, count),
      values: values.length === count ? values : values.slice(0, count),
      times: times.length === count * 2 ? times : times.slice(0, count * 2),
      fuel: fuel.length === count ? fuel : fuel.slice(0, count),
    };
  }
}
