import { WasmPoolError } from '../errors';
import type { FunctionRef, ModuleRegistry } from '../modules/registry';
import type { TaskParam } from '../types';
import { checkParams, describe, findFunction, isPlainParams } from './params';
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

/** The fields of a task, each read once. */
interface TaskFields {
  id: unknown;
  module: unknown;
  name: unknown;
  params: unknown;
  output: unknown;
}

const fields: TaskFields = {
  id: undefined,
  module: undefined,
  name: undefined,
  params: undefined,
  output: undefined,
};

/** What was read of a task refused at admission, for its result and the taskComplete event. */
export interface Refusal {
  error: WasmPoolError;
  module: string;
  function: string;
  id: string | undefined;
}

/**
 * Admits `raw` as task `index` of `block`: reads, checks and stores it (the block's `fns`, `outputs`,
 * `givenIds` and arguments). Throws a WasmPoolError when it is refused; the block then holds nothing
 * of it but, possibly, its id.
 */
export function admitTask(
  registry: ModuleRegistry,
  block: TaskBlock,
  index: number,
  raw: unknown,
  cache: LookupCache,
): void {
  readFields(raw);
  const id = fields.id;
  if (id !== undefined && typeof id !== 'string') {
    throw new WasmPoolError('INVALID_PARAMS', `task.id must be a string; got ${describe(id)}`);
  }
  const taskId = id as string | undefined;
  let fn = cache.fn;
  if (fn === undefined || fields.module !== cache.module || fields.name !== cache.name) {
    fn = findFunction(registry, fields.module, fields.name, taskId);
    cache.module = fields.module;
    cache.name = fields.name;
    cache.fn = fn;
  }
  const count = readParams(fields.params, fn, taskId);
  const output = checkParams(fn, scratch, count, fields.output, taskId);
  const plain = fn.plainParams;
  if (plain !== undefined && isPlainParams(scratch, count, plain)) {
    block.storeArgs(index, scratch as number[], count);
  } else {
    const copy = new Array<TaskParam>(count);
    for (let i = 0; i < count; i++) copy[i] = copyParam(scratch[i], fn, i, taskId);
    block.storeParams(index, copy);
  }
  for (let i = 0; i < count; i++) scratch[i] = undefined;
  block.fns[index] = fn;
  block.outputs[index] = output;
  if (taskId !== undefined) (block.givenIds ??= [])[index] = taskId;
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

function readFields(raw: unknown): void {
  if (typeof raw !== 'object' || raw === null) {
    throw new WasmPoolError(
      'INVALID_PARAMS',
      `a task must be an object with module and function; got ${describe(raw)}`,
    );
  }
  try {
    const task = raw as Record<string, unknown>;
    fields.id = task.id;
    fields.module = task.module;
    fields.name = task.function;
    fields.params = task.params;
    fields.output = task.output;
  } catch (error) {
    throw new WasmPoolError('INVALID_PARAMS', `reading the task threw: ${errorText(error)}`, {
      cause: error,
    });
  }
}

/** Reads the params into `scratch` once each; returns how many. */
function readParams(params: unknown, fn: FunctionRef, taskId: string | undefined): number {
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
    for (let i = 0; i < count; i++) scratch[i] = params[i];
    return count;
  } catch (error) {
    if (error instanceof WasmPoolError) throw error;
    throw new WasmPoolError('INVALID_PARAMS', `reading the task's params threw: ${errorText(error)}`, {
      cause: error,
      ...(taskId === undefined ? {} : { taskId }),
    });
  }
}

/** A param as the task keeps it: bytes are copied (the caller may change or detach its buffer). */
function copyParam(value: unknown, fn: FunctionRef, i: number, taskId: string | undefined): TaskParam {
  if (!(value instanceof Uint8Array)) return value as TaskParam;
  if (value.byteLength === 0 && isDetached(value)) {
    throw new WasmPoolError(
      'INVALID_PARAMS',
      `${fn.label}: param ${i} is a Uint8Array whose buffer is detached (transferred or closed)`,
      taskId === undefined ? undefined : { taskId },
    );
  }
  return new Uint8Array(value);
}

function isDetached(view: Uint8Array): boolean {
  try {
    // A view cannot be made over a detached buffer.
    void new Uint8Array(view.buffer);
    return false;
  } catch {
    return true;
  }
}

/** Text of a thrown value, whatever it is (it may have no toString). */
export function errorText(value: unknown): string {
  try {
    if (value instanceof Error) return value.message;
    if (typeof value === 'string') return value;
    return describe(value);
  } catch {
    return 'an unprintable value';
  }
}
