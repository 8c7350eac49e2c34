import { classify } from './classify';
import { TaskInterrupt } from './meter';
import type { ErrorCode } from './codes';
import type { BoundFunction, ModuleRuntime } from './module-runtime';

/** Element type of a column, by wasm value type. */
export type ColumnType = 'i32' | 'u32' | 'i64' | 'f32' | 'f64';

/** One column: where it lies in the job's shared buffer. */
export interface ColumnLayout {
  type: ColumnType;
  /** Byte offset of element 0 in the buffer. */
  offset: number;
}

/**
 * Rows `[start, end)` of a `runColumns()` call, for one task: the params' columns and the results'
 * column lie in `buffer`, which the pool and the workers share. The worker writes each row's result
 * into the results column; a row that fails leaves 0 there.
 */
export interface ColumnsRequest {
  kind: 'columns';
  buffer: SharedArrayBuffer;
  rows: number;
  params: ColumnLayout[];
  result: ColumnLayout;
  start: number;
  end: number;
}

/** A row that failed: its index in the call, and why. */
export interface RowFailure {
  index: number;
  code: ErrorCode;
  message: string;
}

type Column = Int32Array | Uint32Array | BigInt64Array | Float32Array | Float64Array;

/** The typed array of a column over the job's buffer. */
export function columnView(buffer: SharedArrayBuffer, rows: number, layout: ColumnLayout): Column {
  switch (layout.type) {
    case 'i32':
      return new Int32Array(buffer, layout.offset, rows);
    case 'u32':
      return new Uint32Array(buffer, layout.offset, rows);
    case 'i64':
      return new BigInt64Array(buffer, layout.offset, rows);
    case 'f32':
      return new Float32Array(buffer, layout.offset, rows);
    case 'f64':
      return new Float64Array(buffer, layout.offset, rows);
  }
}

/**
 * Runs the rows of a request: one call per row, reading params from their columns and writing the
 * result into the results column, with no object per row. A row that traps is recorded (its module
 * instance is made again, as after any failed task) and the loop goes on with the next row.
 * Returns the failed rows (empty when all succeeded).
 */
export function runColumnRows(
  runtime: ModuleRuntime,
  fnIndex: number,
  request: ColumnsRequest,
  reset: () => void,
): RowFailure[] {
  const { buffer, rows, start, end } = request;
  const columns = request.params.map((layout) => columnView(buffer, rows, layout));
  const out = columnView(buffer, rows, request.result);
  const failures: RowFailure[] = [];
  let row = start;
  while (row < end) {
    const bound = runtime.functions[fnIndex] as BoundFunction | undefined;
    if (bound === undefined) {
      // The module could not be instantiated again: the rest of the rows fail with it.
      const { code, message } = failures[failures.length - 1] ?? {
        code: 'TRAP' as const,
        message: 'no instance',
      };
      for (; row < end; row++) failures.push({ index: row, code, message });
      break;
    }
    try {
      row = runRows(bound.fn, columns, out, row, end);
    } catch (error) {
      // `stoppedAt` is the row that threw.
      const { code, message } = classify(error, runtime);
      if (error instanceof TaskInterrupt) {
        // The slice was stopped (its deadline, an abort): the rows it had not finished fail with it.
        for (row = stoppedAt; row < end; row++) failures.push({ index: row, code, message });
      } else {
        failures.push({ index: stoppedAt, code, message });
        row = stoppedAt + 1;
      }
      reset();
    }
  }
  return failures;
}

/** The row runRows() was at when it threw. */
let stoppedAt = 0;

type Fn = (...args: unknown[]) => unknown;

/**
 * Rows [from, to) in one tight loop per arity (the common ones unrolled, so that the engine sees
 * plain element loads and one call per row); returns `to`, or throws with `stoppedAt` set.
 */
function runRows(fn: Fn, columns: Column[], out: Column, from: number, to: number): number {
  const sink = out as Float64Array;
  let row = from;
  try {
    switch (columns.length) {
      case 0:
        for (; row < to; row++) sink[row] = fn() as number;
        break;
      case 1: {
        const a = columns[0]!;
        for (; row < to; row++) sink[row] = fn(a[row]) as number;
        break;
      }
      case 2: {
        const a = columns[0]!;
        const b = columns[1]!;
        for (; row < to; row++) sink[row] = fn(a[row], b[row]) as number;
        break;
      }
      case 3: {
        const a = columns[0]!;
        const b = columns[1]!;
        const c = columns[2]!;
        for (; row < to; row++) sink[row] = fn(a[row], b[row], c[row]) as number;
        break;
      }
      default:
        for (; row < to; row++) sink[row] = callRow(fn, columns, row) as number;
    }
  } catch (error) {
    stoppedAt = row;
    throw error;
  }
  return to;
}

function callRow(fn: (...args: unknown[]) => unknown, columns: Column[], row: number): unknown {
  switch (columns.length) {
    case 0:
      return fn();
    case 1:
      return fn(columns[0]![row]);
    case 2:
      return fn(columns[0]![row], columns[1]![row]);
    case 3:
      return fn(columns[0]![row], columns[1]![row], columns[2]![row]);
    case 4:
      return fn(columns[0]![row], columns[1]![row], columns[2]![row], columns[3]![row]);
    default:
      return fn(...columns.map((column) => column[row]));
  }
}
