import { WasmPoolError, errorText } from '../errors';
import type { FunctionRef, ModuleRegistry } from '../modules/registry';
import type { TaskParam } from '../types';
import { byteArena, releaseParams } from './byte-arena';
import { checkMeterable } from './fuel';
import { checkParams, describe, findFunction } from './params';
import { admitRealTask } from './real-tasks';
import { plainBytes } from '../typed-arrays';
import type { TaskBlock } from './task-block';

/**
 * Admission: the one place where a caller's task is read. Every field is read once, inside a guard
 * (a throwing getter is the caller's fault, reported as INVALID_PARAMS), checked against the
 * export's signature, and copied into the task's block: numbers into the block's argument array,
 * other params into a private copy (a Uint8Array's bytes are copied), so that nothing the caller
 * does to its objects afterwards reaches the task. Used by run(), runBatch() and stream().
 */

/** The function of the last task admitted, to skip the lookup for runs of tasks of one function. */
export interface LookupCache {
  module: unknown;
  name: unknown;
  fn: FunctionRef | undefined;
}

export function newLookupCache(): LookupCache {
  return { module: undefined, name: undefined, fn: undefined };
}

/** Params are read into this array first (no allocation per task), then checked, then stored. */
const scratch: unknown[] = [];

/** What was read of a task refused at admission, for its result and the taskComplete event. */
export interface Refusal {
  error: WasmPoolError;
  module: string;
  function: string;
  id: string | undefined;
}

/**
 * Admits `raw` as task `index` of `block`: reads, checks and stores it (the block's `fns`, `outputs`,
 * `givenIds` and arguments), given the call's `fuel`. Throws a WasmPoolError when it is refused; the
 * block then holds nothing of it.
 */
export function admitTask(
  registry: ModuleRegistry,
  block: TaskBlock,
  index: number,
  raw: unknown,
  cache: LookupCache,
  fuel: number | undefined,
): void {
  if (typeof raw !== 'object' || raw === null) {
    throw new WasmPoolError(
      'INVALID_PARAMS',
      `a task must be an object with module and function; got ${describe(raw)}`,
    );
  }
  let id: unknown, module: unknown, name: unknown, params: unknown, output: unknown;
  try {
    const task = raw as Record<string, unknown>;
    id = task.id;
    module = task.module;
    name = task.function;
    params = task.params;
    output = task.output;
  } catch (error) {
    throw new WasmPoolError('INVALID_PARAMS', `reading the task threw: ${errorText(error)}`, {
      cause: error,
    });
  }
  if (id !== undefined && typeof id !== 'string') {
    throw new WasmPoolError('INVALID_PARAMS', `task.id must be a string; got ${describe(id)}`);
  }
  const taskId = id as string | undefined;
  let fn = cache.fn;
  // A version unregistered or replaced since the last lookup takes no new task: look again.
  if (fn === undefined || module !== cache.module || name !== cache.name || !fn.version.active) {
    fn = findFunction(registry, module, name, taskId);
    cache.module = module;
    cache.name = name;
    cache.fn = fn;
  }
  checkMeterable(fn, fuel);
  if (fn.real !== undefined) return admitRealTask(block, index, raw as object, fn, taskId);
  const plain = fn.plainParams;
  if (
    plain === undefined ||
    output !== undefined ||
    !Array.isArray(params) ||
    !admitPlainParams(block, index, params, plain, fn, taskId)
  ) {
    admitParams(block, index, params, output, fn, taskId);
  }
  block.fns[index] = fn;
  if (taskId !== undefined) (block.givenIds ??= [])[index] = taskId;
}

/**
 * The common case in one pass: numbers for a function of i32, f32 and f64 params (`plain`, see
 * FunctionRef), each read once straight into the block's arguments. Returns false, having read
 * nothing twice, when a param needs the general path; the values read so far are then in `scratch`.
 */
function admitPlainParams(
  block: TaskBlock,
  index: number,
  params: readonly unknown[],
  plain: readonly boolean[],
  fn: FunctionRef,
  taskId: string | undefined,
): boolean {
  const count = plain.length;
  let read = 0;
  try {
    if (params.length !== count) return false;
    const at = block.reserveArgs(count);
    const args = block.args;
    for (; read < count; read++) {
      const value: unknown = params[read];
      // An i32 takes an integer from -2^31 to 2^32-1.
      if (
        typeof value !== 'number' ||
        (plain[read] === true && value !== (value | 0) && value !== value >>> 0)
      ) {
        for (let i = 0; i < read; i++) scratch[i] = args[at + i];
        scratch[read] = value;
        scratchFrom = read + 1;
        return false;
      }
      args[at + read] = value;
    }
    block.argAt[index] = at;
    block.outputs[index] = fn.defaultOutput;
    return true;
  } catch (error) {
    throw paramsThrew(error, taskId);
  }
}

/** How many params `scratch` already holds when the general path starts (read by the plain pass). */
let scratchFrom = 0;

/** The general path: every param read once (the ones the plain pass read are in `scratch`), checked, copied. */
function admitParams(
  block: TaskBlock,
  index: number,
  params: unknown,
  output: unknown,
  fn: FunctionRef,
  taskId: string | undefined,
): void {
  const from = scratchFrom;
  scratchFrom = 0;
  const count = readParams(params, fn, taskId, from);
  try {
    block.outputs[index] = checkParams(fn, scratch, count, output, taskId);
    const copy = new Array<TaskParam>(count);
    try {
      for (let i = 0; i < count; i++) copy[i] = copyParam(scratch[i], fn, i, taskId);
    } catch (error) {
      // The task is refused: the bytes copied for it so far go back to the arena.
      releaseParams(copy.filter((param) => param !== undefined));
      throw error;
    }
    block.storeParams(index, copy);
  } finally {
    for (let i = 0; i < count; i++) scratch[i] = undefined;
  }
}

function paramsThrew(error: unknown, taskId: string | undefined): WasmPoolError {
  if (error instanceof WasmPoolError) return error;
  return new WasmPoolError('INVALID_PARAMS', `reading the task's params threw: ${errorText(error)}`, {
    cause: error,
    ...(taskId === undefined ? {} : { taskId }),
  });
}

/** The fields of a refused task, read again for its report (guarded: they may throw). */
export function refusal(raw: unknown, error: WasmPoolError): Refusal {
  let module = '';
  let name = '';
  let id: string | undefined;
  try {
    const task = raw as Record<string, unknown>;
    module = typeof task.module === 'string' ? task.module : '';
    name = typeof task.function === 'string' ? task.function : '';
    id = typeof task.id === 'string' ? task.id : undefined;
  } catch {
    // A task whose getters throw is reported with empty names.
  }
  return { error, module, function: name, id };
}

/** Reads the params into `scratch` once each, from `from` on (the ones before are there); returns how many. */
function readParams(params: unknown, fn: FunctionRef, taskId: string | undefined, from: number): number {
  if (params === undefined) return 0;
  if (!Array.isArray(params)) {
    throw new WasmPoolError(
      'INVALID_PARAMS',
      `${fn.label}: params must be an array; got ${describe(params)}`,
      taskId === undefined ? undefined : { taskId },
    );
  }
  try {
    const count = params.length;
    if (count > 1000) {
      throw new WasmPoolError(
        'INVALID_PARAMS',
        `${fn.label}: ${count} params are more than a function can take`,
      );
    }
    // Written in place (never shortened: setting an array's length is a runtime call), cleared after use.
    for (let i = from; i < count; i++) scratch[i] = params[i];
    return count;
  } catch (error) {
    throw paramsThrew(error, taskId);
  }
}

/**
 * A param as the task keeps it: bytes are copied (the caller may change or detach its buffer) into
 * pool-owned shared memory, read through the engine's getters (a subclass's own `length` cannot
 * make the pool copy or allocate more than the array holds).
 */
function copyParam(value: unknown, fn: FunctionRef, i: number, taskId: string | undefined): TaskParam {
  if (!(value instanceof Uint8Array)) return value as TaskParam;
  const bytes = plainBytes(value);
  if (bytes === undefined) {
    throw new WasmPoolError(
      'INVALID_PARAMS',
      `${fn.label}: param ${i} is not a Uint8Array the pool can read (its buffer is detached, or it is a proxy)`,
      taskId === undefined ? undefined : { taskId },
    );
  }
  return byteArena.copy(bytes);
}
