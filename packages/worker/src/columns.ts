import { classify } from './classify';
import { columnDriver, type ColumnDriver } from './column-driver';
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
 * column lie in `memory`, a shared WebAssembly memory of the pool's that the workers' column
 * drivers import (column-driver.ts). The worker writes each row's result into the results column;
 * a row that fails leaves its value undefined there (the pool gives the caller 0).
 */
export interface ColumnsRequest {
  kind: 'columns';
  memory: WebAssembly.Memory;
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
 * Runs the rows of a request: one call per row in the column driver's loop (column-driver.ts), with
 * no object per row. A row that traps is recorded (its module instance is made again, as after any
 * failed task, and a driver is bound to the new one) and the loop goes on with the next row.
 * Returns the failed rows (empty when all succeeded).
 */
export function runColumnRows(
  runtime: ModuleRuntime,
  fnIndex: number,
  request: ColumnsRequest,
  reset: () => void,
): RowFailure[] {
  const { start, end } = request;
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
    let driver: ColumnDriver | undefined;
    try {
      const { params, results } = bound.signature;
      driver = columnDriver(bound.fn, params, results[0], request.params, request.result, request.memory);
      driver.run(row, end);
      row = end;
    } catch (error) {
      const { code, message } = classify(error, runtime);
      if (driver === undefined) {
        // No driver for this function (it cannot be made): every row left fails with why.
        for (; row < end; row++) failures.push({ index: row, code, message });
        break;
      }
      const stoppedAt = driver.row();
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
