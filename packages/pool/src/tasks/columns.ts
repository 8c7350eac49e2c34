import {
  DRIVER_MAX_PAGES,
  OutputKind,
  columnView,
  type ColumnLayout,
  type ColumnType,
  type ColumnsRequest,
  type ValueType,
} from '@wasmpool/worker';
import { WasmPoolError, type ErrorCode } from '../errors';
import type { FunctionRef } from '../modules/registry';
import type { ColumnArray, ColumnsResult, RowFailure, TaskParam } from '../types';
import { describe } from './params';
import { TaskBlock } from './task-block';
import { bufferOf, byteOffsetOf, lengthOf } from '../typed-arrays';

/** A slice of rows aims at about this much work (ms), so that results and progress come back often. */
const SLICE_MS = 2;
const MIN_SLICE_ROWS = 256;
const MAX_SLICE_ROWS = 65_536;
const FIRST_SLICE_ROWS = 4096;

/** The column types a param of each wasm type takes. */
const PARAM_COLUMNS: Partial<Record<ValueType, readonly ColumnType[]>> = {
  i32: ['i32', 'u32'],
  i64: ['i64'],
  f32: ['f32', 'f64'],
  f64: ['f64', 'f32'],
};

function columnTypeOf(column: unknown): ColumnType | undefined {
  if (column instanceof Int32Array) return 'i32';
  if (column instanceof Uint32Array) return 'u32';
  if (column instanceof BigInt64Array) return 'i64';
  if (column instanceof Float32Array) return 'f32';
  if (column instanceof Float64Array) return 'f64';
  return undefined;
}

const ARRAYS: Record<
  ColumnType,
  new (buffer: ArrayBufferLike, offset: number, length: number) => ColumnArray
> = {
  i32: Int32Array,
  u32: Uint32Array,
  i64: BigInt64Array,
  f32: Float32Array,
  f64: Float64Array,
};

/**
 * A plain view of the caller's column, of its type, over the same memory: read through the engine's
 * getters, so that what is copied is what was checked (not what an overridden getter says later).
 */
function plainView(column: unknown, type: ColumnType): ColumnArray | undefined {
  try {
    const buffer = bufferOf.call(column) as ArrayBufferLike;
    return new ARRAYS[type](buffer, byteOffsetOf.call(column) as number, lengthOf.call(column) as number);
  } catch {
    return undefined;
  }
}

const BYTES: Record<ColumnType, number> = { i32: 4, u32: 4, i64: 8, f32: 4, f64: 8 };

function invalid(fn: FunctionRef | undefined, why: string): WasmPoolError {
  return new WasmPoolError(
    'INVALID_PARAMS',
    `runColumns${fn === undefined ? '' : ` of ${fn.label}`}: ${why}`,
  );
}

const PAGE_BYTES = 65536;
/** A shared memory this big or smaller is kept for the next call once a call is done with it. */
const KEEP_MEMORY_BYTES = 64 << 20;

/**
 * The shared WebAssembly memories runColumns() copies columns into, one kept for the next call. A
 * fresh memory's pages are mapped on first touch: filling 12 MB of new memory cost about 4 ms here,
 * a page fault per 4 KiB, against about 1 ms for the copy into pages already mapped.
 */
export class ColumnsMemories {
  private idle: WebAssembly.Memory | undefined;

  /** A shared memory of at least `bytes` (reused when one is idle). */
  take(bytes: number): WebAssembly.Memory {
    const pages = Math.max(1, Math.ceil(bytes / PAGE_BYTES));
    const memory = this.idle;
    this.idle = undefined;
    if (memory !== undefined) {
      const have = memory.buffer.byteLength / PAGE_BYTES;
      if (have >= pages) return memory;
      if (pages <= KEEP_MEMORY_BYTES / PAGE_BYTES) {
        try {
          memory.grow(pages - have);
          return memory;
        } catch {
          // Refused (no memory for it now): a new one below, or the engine's error with it.
        }
      }
    }
    // A shared memory reserves its maximum up front: as much as a kept memory may grow to.
    return new WebAssembly.Memory({
      initial: pages,
      maximum: Math.max(pages, KEEP_MEMORY_BYTES / PAGE_BYTES),
      shared: true,
    });
  }

  /** A call is done with `memory` and no worker will touch it again. */
  give(memory: WebAssembly.Memory): void {
    if (memory.buffer.byteLength <= KEEP_MEMORY_BYTES) this.idle = memory;
  }
}

/** A runColumns() job, ready to run: its shared buffer, its slices of rows, and the block that settles them. */
export interface ColumnsJob {
  block: ColumnsBlock;
  requests: ColumnsRequest[];
}

/**
 * Checks the columns against the function's signature and copies them (read once, through the
 * engine's own getters) into a shared WebAssembly memory with room for the results: the workers'
 * column drivers read and write it without a copy.
 */
export function prepareColumns(
  fn: FunctionRef,
  columns: unknown,
  timeoutMs: number,
  maxWorkers: number,
  memories: ColumnsMemories,
  resolve: (result: ColumnsResult) => void,
): ColumnsJob {
  const { params, results } = fn.signature;
  const resultType = results.length === 1 ? results[0] : undefined;
  if (resultType !== 'i32' && resultType !== 'i64' && resultType !== 'f32' && resultType !== 'f64') {
    throw invalid(fn, 'the function must return one i32, i64, f32 or f64');
  }
  if (!Array.isArray(columns)) throw invalid(fn, `params must be an array of typed arrays, one per param`);
  if (columns.length !== params.length) {
    throw invalid(fn, `${columns.length} columns given for ${params.length} params`);
  }
  const types: ColumnType[] = [];
  const sources: ColumnArray[] = [];
  let rows = -1;
  for (let i = 0; i < params.length; i++) {
    const column: unknown = columns[i];
    const type = columnTypeOf(column);
    const allowed = PARAM_COLUMNS[params[i]!];
    const source = type === undefined ? undefined : plainView(column, type);
    if (type === undefined || allowed === undefined || !allowed.includes(type) || source === undefined) {
      throw invalid(
        fn,
        `column ${i} (${params[i]}) must be ${allowed === undefined ? 'a numeric param' : allowed.map((t) => ARRAY_NAMES[t]).join(' or ')}; got ${describeColumn(column)}`,
      );
    }
    const length = source.length;
    if (rows >= 0 && length !== rows)
      throw invalid(fn, `column ${i} has ${length} rows, column 0 has ${rows}`);
    rows = length;
    types.push(type);
    sources.push(source);
  }
  if (rows < 0) throw invalid(fn, 'a function without params has no column to give the number of rows');
  const outType: ColumnType = resultType;
  const layouts: ColumnLayout[] = [];
  let offset = 0;
  for (const type of types) {
    layouts.push({ type, offset });
    offset += align8(rows * BYTES[type]);
  }
  const result: ColumnLayout = { type: outType, offset };
  const bytes = offset + align8(rows * BYTES[outType]);
  if (bytes > DRIVER_MAX_PAGES * PAGE_BYTES) {
    throw invalid(
      fn,
      `the columns and results take ${bytes} bytes; one call holds at most 4 GiB: split the rows`,
    );
  }
  const memory = memories.take(bytes);
  const buffer = memory.buffer as unknown as SharedArrayBuffer;
  layouts.forEach((layout, i) => {
    (columnView(buffer, rows, layout) as Float64Array).set(sources[i] as Float64Array);
  });
  const sliceRows = rowsPerSlice(fn, rows, maxWorkers);
  const requests: ColumnsRequest[] = [];
  for (let start = 0; start < rows; start += sliceRows) {
    requests.push({
      kind: 'columns',
      memory,
      rows,
      params: layouts,
      result,
      start,
      end: Math.min(rows, start + sliceRows),
    });
  }
  const block = new ColumnsBlock(
    timeoutMs,
    requests,
    columnView(buffer, rows, result),
    () => memories.give(memory),
    resolve,
  );
  return { block, requests };
}

function rowsPerSlice(fn: FunctionRef, rows: number, maxWorkers: number): number {
  const byTime = fn.meanRunMs > 0 ? Math.floor(SLICE_MS / fn.meanRunMs) : FIRST_SLICE_ROWS;
  // At least two slices per worker, so that every worker has a share.
  const bySpread = Math.ceil(rows / (2 * Math.max(1, maxWorkers)));
  return Math.max(MIN_SLICE_ROWS, Math.min(MAX_SLICE_ROWS, byTime, bySpread));
}

const ARRAY_NAMES: Record<ColumnType, string> = {
  i32: 'Int32Array',
  u32: 'Uint32Array',
  i64: 'BigInt64Array',
  f32: 'Float32Array',
  f64: 'Float64Array',
};

function describeColumn(column: unknown): string {
  return ArrayBuffer.isView(column) ? column.constructor.name : describe(column);
}

function align8(bytes: number): number {
  return (bytes + 7) & ~7;
}

/**
 * The slices of one runColumns() call, one task each. A slice that succeeds reports its failed rows,
 * and its values are copied into the caller's array while other slices run; a slice that fails as a
 * whole (timeout, crash, abort, pool closed) fails each of its rows, whose values stay 0. Resolves
 * `{ values, failures }` once every slice has settled. The shared memory is given back for the next
 * call only when every slice was reported by its worker: a slice failed by the pool (its deadline, a
 * crash) may have a worker still writing into it.
 */
export class ColumnsBlock extends TaskBlock {
  private readonly failures: RowFailure[] = [];
  private done = 0;
  private reported = 0;
  /** The caller's array: its own memory, not the pool's shared one. */
  private readonly values: ColumnArray;

  constructor(
    timeoutMs: number,
    readonly requests: readonly ColumnsRequest[],
    private readonly shared: ColumnArray,
    private readonly release: () => void,
    private readonly resolve: (result: ColumnsResult) => void,
  ) {
    super(timeoutMs, requests.length);
    this.values = new (shared.constructor as new (length: number) => ColumnArray)(shared.length);
  }

  get size(): number {
    return this.requests.length;
  }

  /** A slice's fuel: the call's fuel per row, over its rows. */
  override fuelOf(index: number): number {
    return this.fuel === undefined ? super.fuelOf(index) : this.fuel * this.callsOf(index);
  }

  /** Rows in slice `index`: each is one call of the function. */
  override callsOf(index: number): number {
    const { start, end } = this.requests[index]!;
    return end - start;
  }

  /** The values of a call with no rows (its memory is not needed). */
  emptyValues(): ColumnArray {
    this.release();
    return this.values;
  }

  taskId(index: number): string {
    const { start, end } = this.requests[index]!;
    return `rows ${start}-${end - 1}`;
  }

  /** Stores slice `index`'s request as its task's one param, with the kind that makes the encoder send it. */
  admit(index: number, fn: FunctionRef): void {
    this.fns[index] = fn;
    this.outputs[index] = OutputKind.columns;
    this.storeParams(index, [this.requests[index] as unknown as TaskParam]);
  }

  succeed(index: number, output: unknown): void {
    const { start, end } = this.requests[index]!;
    (this.values as Float64Array).set((this.shared as Float64Array).subarray(start, end), start);
    for (const failure of output as RowFailure[]) {
      this.failures.push(failure);
      if (this.values instanceof BigInt64Array) this.values[failure.index] = 0n;
      else this.values[failure.index] = 0;
    }
    this.reported++;
    this.settled();
  }

  fail(index: number, code: ErrorCode, message: string): void {
    const { start, end } = this.requests[index]!;
    for (let row = start; row < end; row++) this.failures.push({ index: row, code, message });
    this.settled();
  }

  private settled(): void {
    if (++this.done < this.requests.length) return;
    if (this.reported === this.requests.length) this.release();
    this.failures.sort((a, b) => a.index - b.index);
    this.resolve({ values: this.values, failures: this.failures });
  }
}
