import {
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

const BYTES: Record<ColumnType, number> = { i32: 4, u32: 4, i64: 8, f32: 4, f64: 8 };

function invalid(fn: FunctionRef | undefined, why: string): WasmPoolError {
  return new WasmPoolError(
    'INVALID_PARAMS',
    `runColumns${fn === undefined ? '' : ` of ${fn.label}`}: ${why}`,
  );
}

/** A runColumns() job, ready to run: its shared buffer, its slices of rows, and the block that settles them. */
export interface ColumnsJob {
  block: ColumnsBlock;
  requests: ColumnsRequest[];
}

/**
 * Checks the columns against the function's signature and copies them (read once) into one
 * SharedArrayBuffer with room for the results: the workers read and write it without a copy.
 */
export function prepareColumns(
  fn: FunctionRef,
  columns: unknown,
  timeoutMs: number,
  maxWorkers: number,
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
  let rows = -1;
  columns.forEach((column: unknown, i) => {
    const type = columnTypeOf(column);
    const allowed = PARAM_COLUMNS[params[i]!];
    if (type === undefined || allowed === undefined || !allowed.includes(type)) {
      throw invalid(
        fn,
        `column ${i} (${params[i]}) must be ${allowed === undefined ? 'a numeric param' : allowed.map((t) => ARRAY_NAMES[t]).join(' or ')}; got ${describeColumn(column)}`,
      );
    }
    const length = (column as ColumnArray).length;
    if (rows >= 0 && length !== rows)
      throw invalid(fn, `column ${i} has ${length} rows, column 0 has ${rows}`);
    rows = length;
    types.push(type);
  });
  if (rows < 0) throw invalid(fn, 'a function without params has no column to give the number of rows');
  const outType: ColumnType = resultType;
  const layouts: ColumnLayout[] = [];
  let offset = 0;
  for (const type of types) {
    layouts.push({ type, offset });
    offset += align8(rows * BYTES[type]);
  }
  const result: ColumnLayout = { type: outType, offset };
  const buffer = new SharedArrayBuffer(Math.max(8, offset + align8(rows * BYTES[outType])));
  layouts.forEach((layout, i) => {
    (columnView(buffer, rows, layout) as Float64Array).set(columns[i] as Float64Array);
  });
  const sliceRows = rowsPerSlice(fn, rows, maxWorkers);
  const requests: ColumnsRequest[] = [];
  for (let start = 0; start < rows; start += sliceRows) {
    requests.push({
      kind: 'columns',
      buffer,
      rows,
      params: layouts,
      result,
      start,
      end: Math.min(rows, start + sliceRows),
    });
  }
  const block = new ColumnsBlock(timeoutMs, requests, columnView(buffer, rows, result), resolve);
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
 * The slices of one runColumns() call, one task each. A slice that succeeds reports its failed rows;
 * a slice that fails as a whole (timeout, crash, abort, pool closed) fails each of its rows, whose
 * values are set to 0. Resolves `{ values, failures }` once every slice has settled.
 */
export class ColumnsBlock extends TaskBlock {
  private readonly failures: RowFailure[] = [];
  private done = 0;

  constructor(
    timeoutMs: number,
    readonly requests: readonly ColumnsRequest[],
    private readonly values: ColumnArray,
    private readonly resolve: (result: ColumnsResult) => void,
  ) {
    super(timeoutMs, requests.length);
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

  /** The values of a call with no rows. */
  emptyValues(): ColumnArray {
    return this.values.slice() as ColumnArray;
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

  succeed(_index: number, output: unknown): void {
    for (const failure of output as RowFailure[]) this.failures.push(failure);
    this.settled();
  }

  fail(index: number, code: ErrorCode, message: string): void {
    const { start, end } = this.requests[index]!;
    if (this.values instanceof BigInt64Array) this.values.fill(0n, start, end);
    else this.values.fill(0, start, end);
    for (let row = start; row < end; row++) this.failures.push({ index: row, code, message });
    this.settled();
  }

  private settled(): void {
    if (++this.done < this.requests.length) return;
    this.failures.sort((a, b) => a.index - b.index);
    // The results leave the shared buffer: the caller gets an array of its own.
    this.resolve({ values: this.values.slice() as ColumnArray, failures: this.failures });
  }
}
