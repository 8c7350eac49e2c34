import { OutputKind, type TaskRef } from '@wasmpool/worker';
import { WasmPoolError } from '../errors';
import type { FunctionRef, ModuleRegistry } from '../modules/registry';
import type { OutputType, TaskParam } from '../types';
import { bytesLength } from '../typed-arrays';

const I32_MIN = -(2 ** 31);
const U32_MAX = 2 ** 32 - 1;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

const OUTPUTS: Record<OutputType, OutputKind> = {
  void: OutputKind.void,
  number: OutputKind.number,
  bigint: OutputKind.bigint,
  bytes: OutputKind.bytes,
  string: OutputKind.string,
  json: OutputKind.json,
};

export function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value);
  if (value instanceof Uint8Array) return `Uint8Array(${bytesLength(value)})`;
  if (typeof value === 'number') return String(value);
  return value === null ? 'null' : typeof value;
}

function invalidParams(
  fn: FunctionRef,
  params: readonly unknown[],
  why: string,
  taskId?: string,
): WasmPoolError {
  return new WasmPoolError(
    'INVALID_PARAMS',
    `${fn.label} cannot take (${params.map(describe).join(', ')}): ${why}`,
    taskId === undefined ? undefined : { taskId },
  );
}

/**
 * Checks params read from a task (`values[0..count)`) and its `output` against the signature of its
 * function. Returns the output kind; throws INVALID_PARAMS naming the signature. The common case
 * (numbers for a function of i32, f32 and f64 params, default output) takes a short path.
 */
export function checkParams(
  fn: FunctionRef,
  values: readonly unknown[],
  count: number,
  output: unknown,
  taskId: string | undefined,
): OutputKind {
  const plain = fn.plainParams;
  if (plain !== undefined && output === undefined && isPlainParams(values, count, plain)) {
    return fn.defaultOutput;
  }
  checkParamsFully(fn, values.slice(0, count), taskId);
  return outputOf(output, fn, taskId);
}

/** Whether `values[0..count)` are numbers that fit a function of i32, f32 and f64 params (`plain`, see FunctionRef). */
function isPlainParams(values: readonly unknown[], count: number, plain: readonly boolean[]): boolean {
  if (count !== plain.length) return false;
  for (let i = 0; i < count; i++) {
    const value: unknown = values[i];
    if (typeof value !== 'number') return false;
    // An i32 takes an integer from -2^31 to 2^32-1.
    if (plain[i] === true && value !== (value | 0) && value !== value >>> 0) return false;
  }
  return true;
}

/** Checks params against the signature of their function; throws INVALID_PARAMS naming it. */
function checkParamsFully(fn: FunctionRef, params: readonly unknown[], taskId: string | undefined): void {
  const types = fn.signature.params;
  let slot = 0;
  for (let i = 0; i < params.length; i++) {
    const value: unknown = params[i];
    const type = types[slot];
    if (type === undefined) throw invalidParams(fn, params, `too many params`, taskId);
    if (type === 'unknown') {
      // A compiled module's types are hidden: numbers and bigints pass as they are.
      if (value instanceof Uint8Array || typeof value === 'string') {
        if (types[slot + 1] !== 'unknown' || !fn.version.hasAlloc) {
          throw invalidParams(
            fn,
            params,
            `param ${i} is bytes, which takes two slots and an alloc export`,
            taskId,
          );
        }
        slot += 2;
      } else if (typeof value === 'number' || typeof value === 'bigint') {
        slot++;
      } else {
        throw invalidParams(fn, params, `param ${i} must be a number, bigint, Uint8Array or string`, taskId);
      }
    } else if (typeof value === 'number') {
      if (type === 'i32') {
        if (!Number.isInteger(value) || value < I32_MIN || value > U32_MAX) {
          throw invalidParams(fn, params, `param ${i} (i32) must be an integer from -2^31 to 2^32-1`, taskId);
        }
      } else if (type === 'i64') {
        if (!Number.isSafeInteger(value)) {
          throw invalidParams(fn, params, `param ${i} (i64) must be a bigint or a safe integer`, taskId);
        }
      } else if (type !== 'f32' && type !== 'f64') {
        throw invalidParams(fn, params, `param ${i} is ${type}, which tasks cannot pass`, taskId);
      }
      slot++;
    } else if (typeof value === 'bigint') {
      if (type !== 'i64' || value < I64_MIN || value > U64_MAX) {
        throw invalidParams(
          fn,
          params,
          `param ${i} is ${type}; a bigint fits only an i64 (-2^63 to 2^64-1)`,
          taskId,
        );
      }
      slot++;
    } else if (value instanceof Uint8Array || typeof value === 'string') {
      if (type !== 'i32' || types[slot + 1] !== 'i32') {
        throw invalidParams(fn, params, `param ${i} is bytes, which takes two i32 slots (ptr, len)`, taskId);
      }
      if (!fn.version.hasAlloc) {
        throw invalidParams(fn, params, `bytes need the module to export alloc(len: i32) -> i32`, taskId);
      }
      slot += 2;
    } else {
      throw invalidParams(fn, params, `param ${i} must be a number, bigint, Uint8Array or string`, taskId);
    }
  }
  if (slot !== types.length) throw invalidParams(fn, params, `too few params`, taskId);
}

function outputOf(output: unknown, fn: FunctionRef, taskId: string | undefined): OutputKind {
  if (output === undefined) return fn.defaultOutput;
  const kind =
    typeof output === 'string' && Object.hasOwn(OUTPUTS, output) ? OUTPUTS[output as OutputType] : undefined;
  const results = fn.signature.results;
  if (results[0] === 'unknown' && kind !== undefined) return kind;
  const single = results.length === 1 ? results[0] : undefined;
  let fits: boolean;
  switch (kind) {
    case OutputKind.void:
      fits = true;
      break;
    case OutputKind.number:
      fits = single === 'i32' || single === 'i64' || single === 'f32' || single === 'f64';
      break;
    case OutputKind.bigint:
      fits = single === 'i32' || single === 'i64';
      break;
    case OutputKind.bytes:
    case OutputKind.string:
    case OutputKind.json:
      fits = single === 'i64' || (results.length === 2 && results[0] === 'i32' && results[1] === 'i32');
      break;
    default:
      throw new WasmPoolError(
        'INVALID_PARAMS',
        `output must be one of ${Object.keys(OUTPUTS).join(', ')}; got ${describe(output)}`,
        taskId === undefined ? undefined : { taskId },
      );
  }
  if (!fits) {
    throw new WasmPoolError(
      'INVALID_PARAMS',
      `${fn.label} cannot give a '${String(output)}' output (bytes, string and json need an i64 (ptr << 32) | len)`,
      taskId === undefined ? undefined : { taskId },
    );
  }
  return kind;
}

/** Looks up the function a task names, with a clear error for a bad module or function. */
export function findFunction(
  registry: ModuleRegistry,
  module: unknown,
  name: unknown,
  taskId: string | undefined,
): FunctionRef {
  const version = typeof module === 'string' ? registry.get(module) : undefined;
  if (version === undefined) {
    throw new WasmPoolError(
      'MODULE_NOT_FOUND',
      `no module named ${describe(module)} is registered`,
      taskId === undefined ? undefined : { taskId },
    );
  }
  const fn = typeof name === 'string' ? version.functions.get(name) : undefined;
  if (fn === undefined) {
    throw new WasmPoolError(
      'FUNCTION_NOT_FOUND',
      `module '${version.name}' exports no function ${describe(name)}; it exports ${[...version.functions.keys()].join(', ')}`,
      taskId === undefined ? undefined : { taskId },
    );
  }
  if (fn.refusal !== undefined) {
    throw new WasmPoolError('FUNCTION_NOT_FOUND', fn.refusal, taskId === undefined ? undefined : { taskId });
  }
  return fn;
}

/**
 * Writes a checked task's arguments into `args` from `at` (one slot per wasm argument) and its byte
 * arguments into `refs` as (task index, slot, data). Returns the next free slot.
 */
export function encodeParams(
  params: readonly TaskParam[] | undefined,
  fn: FunctionRef,
  args: Float64Array,
  bigArgs: BigInt64Array,
  at: number,
  taskIndex: number,
  refs: TaskRef[],
): number {
  if (params === undefined) return at;
  const plain = fn.plainParams;
  if (plain !== undefined && params.length === plain.length) {
    // Checked already: one param per slot can only be numbers (bytes take two slots).
    for (let i = 0; i < plain.length; i++) args[at + i] = params[i] as number;
    return at + plain.length;
  }
  const types = fn.signature.params;
  let slot = 0;
  for (let i = 0; i < params.length; i++) {
    const value = params[i];
    if (typeof value === 'number') {
      if (types[slot] === 'i64') bigArgs[at + slot] = BigInt(value);
      else args[at + slot] = value;
      slot++;
    } else if (typeof value === 'bigint') {
      if (types[slot] === 'unknown') refs.push(taskIndex, slot, value);
      else bigArgs[at + slot] = value;
      slot++;
    } else {
      refs.push(taskIndex, slot, value as Uint8Array | string);
      slot += 2;
    }
  }
  return at + slot;
}
