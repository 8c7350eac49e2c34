/**
 * The loop of a `runColumns()` slice, in WebAssembly: a small module, made per signature and column
 * types, that imports the task's function and the job's shared memory and calls the function once
 * per row, loading its params from their columns and storing its result in the results column.
 *
 * Why not a JS loop over typed arrays: each row was then a call from JS into wasm, about 10–15 ns on
 * this project's machine, as long as the plain loop on one thread that runColumns() must beat; a
 * call from wasm to an imported wasm function of the same signature is direct, a few ns. The driver
 * has no checkpoint of its own: every row is a call, and a function that can run for long has
 * checkpoints at its loops and calls (the pool's instrumentation); a function without them is
 * straight-line code, so a slice of such rows is short whatever the function.
 */
import type { ColumnLayout, ColumnType } from './columns';
import type { ValueType } from './protocol';

/** A param or result type a column can carry. */
type NumericType = 'i32' | 'i64' | 'f32' | 'f64';

const VALUE_TYPE: Record<NumericType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c };
const ELEMENT_BYTES: Record<ColumnType, number> = { i32: 4, u32: 4, i64: 8, f32: 4, f64: 8 };
/** `*.load` opcodes by column type (u32 loads as i32: the same bits, as ToInt32 of the JS value). */
const LOAD: Record<ColumnType, number> = { i32: 0x28, u32: 0x28, i64: 0x29, f32: 0x2a, f64: 0x2b };
const STORE: Record<ColumnType, number> = { i32: 0x36, u32: 0x36, i64: 0x37, f32: 0x38, f64: 0x39 };
const F32_DEMOTE_F64 = 0xb6;
const F64_PROMOTE_F32 = 0xbb;
/** Pages the imported memory may have at most (wasm32: 4 GiB). */
export const DRIVER_MAX_PAGES = 65536;

/** The exports of a driver instance. */
interface DriverExports {
  /** Runs rows [from, to); `offsets` are the byte offsets of the param columns, then of the results. */
  run(from: number, to: number, ...offsets: number[]): void;
  /** The row being run (after a trap: the row that trapped). */
  row: WebAssembly.Global;
}

/** A driver bound to one function and one job's memory. */
export interface ColumnDriver {
  /** Runs rows [from, to); throws what the function throws, with `row()` the row that threw. */
  run(from: number, to: number): void;
  row(): number;
}

const compiled = new Map<string, WebAssembly.Module>();

/**
 * A driver for `fn` of signature `params -> result` over the job's columns. Compiled once per
 * signature and column types (and kept), instantiated per slice (a few µs).
 */
export function columnDriver(
  fn: (...args: unknown[]) => unknown,
  params: readonly ValueType[],
  result: ValueType | undefined,
  columns: readonly ColumnLayout[],
  out: ColumnLayout,
  memory: WebAssembly.Memory,
): ColumnDriver {
  const key = `${params.join(',')}>${result}|${columns.map((c) => c.type).join(',')}>${out.type}`;
  let module = compiled.get(key);
  if (module === undefined) {
    module = new WebAssembly.Module(driverBytes(params, result, columns, out));
    compiled.set(key, module);
  }
  const driver = new WebAssembly.Instance(module, { d: { f: fn, m: memory } })
    .exports as unknown as DriverExports;
  const offsets = [...columns.map((c) => c.offset), out.offset];
  const run = driver.run;
  return {
    run: (from, to) => run(from, to, ...offsets),
    row: () => driver.row.value as number,
  };
}

/** The driver module's bytes (see the file's comment). */
function driverBytes(
  params: readonly ValueType[],
  result: ValueType | undefined,
  columns: readonly ColumnLayout[],
  out: ColumnLayout,
): Uint8Array {
  const n = params.length;
  const fnType = [0x60, ...vec(params.map((p) => VALUE_TYPE[numeric(p)])), 0x01, VALUE_TYPE[numeric(result)]];
  // run(from, to, offset of each param column, offset of the results column)
  const runType = [0x60, ...vec(new Array<number>(n + 3).fill(0x7f)), 0x00];
  const imports = [
    ...u32(2),
    ...name('d'),
    ...name('f'),
    0x00,
    0x00, // func of type 0
    ...name('d'),
    ...name('m'),
    0x02,
    0x03, // shared memory with a maximum
    0x00,
    ...u32(DRIVER_MAX_PAGES),
  ];
  const globals = [...u32(1), 0x7f, 0x01, 0x41, 0x00, 0x0b]; // (mut i32) = 0
  const exportSection = [...u32(2), ...name('run'), 0x00, 0x01, ...name('row'), 0x03, 0x00];

  const FROM = 0;
  const TO = 1;
  const OUT_OFFSET = 2 + n;
  const ROW = 3 + n; // the one declared local
  const get = (local: number): number[] => [0x20, ...u32(local)];
  const body: number[] = [...u32(1), 0x01, 0x7f]; // one i32 local
  body.push(...get(FROM), 0x21, ...u32(ROW)); // row = from
  body.push(0x02, 0x40); // block
  body.push(...get(ROW), ...get(TO), 0x4f, 0x0d, 0x00); // if (row >= to) break
  body.push(0x03, 0x40); // loop
  body.push(...get(ROW), 0x24, 0x00); // global row = row
  // The results column's address, then each param from its column, the call, the store.
  body.push(...get(OUT_OFFSET), ...get(ROW), 0x41, ELEMENT_BYTES[out.type], 0x6c, 0x6a);
  columns.forEach((column, k) => {
    body.push(...get(2 + k), ...get(ROW), 0x41, ELEMENT_BYTES[column.type], 0x6c, 0x6a); // offset + row * size
    body.push(LOAD[column.type], alignOf(column.type), 0x00);
    const want = numeric(params[k]);
    if (want === 'f32' && column.type === 'f64') body.push(F32_DEMOTE_F64);
    if (want === 'f64' && column.type === 'f32') body.push(F64_PROMOTE_F32);
  });
  body.push(0x10, 0x00); // call f
  body.push(STORE[out.type], alignOf(out.type), 0x00);
  body.push(...get(ROW), 0x41, 0x01, 0x6a, 0x22, ...u32(ROW)); // row += 1 (local.tee)
  body.push(...get(TO), 0x49, 0x0d, 0x00); // continue while row < to
  body.push(0x0b, 0x0b, 0x0b); // end loop, block, function
  const code = [...u32(1), ...u32(body.length), ...body];

  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [...u32(2), ...fnType, ...runType]),
    ...section(2, imports),
    ...section(3, [...u32(1), 0x01]), // one function, of type 1
    ...section(6, globals),
    ...section(7, exportSection),
    ...section(10, code),
  ]);
}

function alignOf(type: ColumnType): number {
  return ELEMENT_BYTES[type] === 8 ? 3 : 2;
}

function numeric(type: ValueType | undefined): NumericType {
  if (type === 'i32' || type === 'i64' || type === 'f32' || type === 'f64') return type;
  throw new TypeError(`runColumns: a column cannot carry a ${String(type)} value`);
}

function u32(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

function vec(items: number[]): number[] {
  return [...u32(items.length), ...items];
}

function name(text: string): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [...u32(bytes.length), ...bytes];
}

function section(id: number, content: number[]): number[] {
  return [id, ...u32(content.length), ...content];
}
