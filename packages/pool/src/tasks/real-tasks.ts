/**
 * Tasks of functions called through a request object (WASI commands, adapter functions,
 * AssemblyScript exports): checked when accepted, their request made then, and sent to the worker
 * as the one argument of the task.
 */
import {
  OutputKind,
  type AssemblyScriptParam,
  type AssemblyScriptRequest,
  type FunctionSignature,
  type RealRequest,
  type TaskRef,
} from '@wasmpool/worker';
import { WasmPoolError } from '../errors';
import type { FunctionRef } from '../modules/registry';
import { checkEnv } from '../modules/real-modules';
import type { WasmTask } from '../types';

const utf8 = new TextEncoder();

/**
 * Requests made when tasks were accepted, by task object: what is sent is what was checked, even if
 * the caller changes the task's params or stdin afterwards.
 */
const requests = new WeakMap<object, RealRequest>();

function refuse(task: WasmTask, fn: FunctionRef, why: string): WasmPoolError {
  return new WasmPoolError(
    'INVALID_PARAMS',
    `${fn.version.name}.${fn.name}: ${why}`,
    typeof task.id === 'string' ? { taskId: task.id } : undefined,
  );
}

/** Checks a task of a request-object function; returns its output kind (the worker gives the output as it is). */
export function checkRealTask(task: WasmTask, fn: FunctionRef): OutputKind {
  requests.set(task, makeRequest(task, fn));
  return OutputKind.auto;
}

/** Writes the task's request as its one argument (slot 0 of its `refs`); returns the next free argument slot. */
export function encodeRealTask(
  task: WasmTask,
  fn: FunctionRef,
  at: number,
  taskIndex: number,
  refs: TaskRef[],
): number {
  refs.push(taskIndex, 0, requests.get(task) ?? makeRequest(task, fn));
  return at + 1;
}

function makeRequest(task: WasmTask, fn: FunctionRef): RealRequest {
  const real = fn.real!;
  switch (real.kind) {
    case 'command':
      return commandRequest(task, fn);
    case 'adapter':
      if (task.output !== undefined)
        throw refuse(task, fn, 'an adapter function gives its own output: leave output unset');
      return { kind: 'adapter', params: copyParams(task, fn) };
    case 'assemblyscript':
      return assemblyScriptRequest(task, fn, real.signature);
  }
}

function copyParams(task: WasmTask, fn: FunctionRef): AssemblyScriptParam[] {
  const params: unknown = task.params ?? [];
  if (!Array.isArray(params)) throw refuse(task, fn, 'params must be an array');
  return params.map((value: unknown, i) => {
    if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string') return value;
    if (value instanceof Uint8Array) return value.slice();
    throw refuse(task, fn, `param ${i} must be a number, bigint, Uint8Array or string`);
  });
}

function commandRequest(task: WasmTask, fn: FunctionRef): RealRequest {
  if (task.params !== undefined && (!Array.isArray(task.params) || task.params.length > 0)) {
    throw refuse(task, fn, 'a WASI command takes no params: give it stdin, args and env');
  }
  if (task.output !== undefined)
    throw refuse(task, fn, 'a WASI command gives { exitCode, stdout, stderr }: leave output unset');
  const { stdin, args = [], env = {} } = task;
  let input: Uint8Array;
  if (stdin === undefined) input = new Uint8Array(0);
  else if (typeof stdin === 'string') input = utf8.encode(stdin);
  else if (stdin instanceof Uint8Array) input = stdin.slice();
  else throw refuse(task, fn, 'stdin must be a Uint8Array or a string');
  if (!Array.isArray(args) || args.some((arg) => typeof arg !== 'string' || arg.includes('\0'))) {
    throw refuse(task, fn, 'args must be an array of strings without NUL characters');
  }
  checkEnv(env, (why) => refuse(task, fn, `env ${why}`));
  return { kind: 'command', stdin: input, args: [...args], env: Object.entries(env) };
}

function assemblyScriptRequest(
  task: WasmTask,
  fn: FunctionRef,
  signature: FunctionSignature,
): AssemblyScriptRequest {
  const params = copyParams(task, fn);
  const types = signature.params;
  const label = `(${types.join(', ')}) -> ${signature.results.join(', ') || 'void'}`;
  if (params.length !== types.length) {
    throw refuse(task, fn, `takes ${types.length} params ${label}; got ${params.length}`);
  }
  params.forEach((value, i) => {
    const type = types[i];
    const fits =
      type === 'unknown' ||
      (typeof value === 'string' || value instanceof Uint8Array
        ? type === 'i32'
        : typeof value === 'bigint'
          ? type === 'i64'
          : type === 'i64'
            ? Number.isSafeInteger(value)
            : type === 'i32'
              ? Number.isInteger(value) && value >= -(2 ** 31) && value <= 2 ** 32 - 1
              : type === 'f32' || type === 'f64');
    if (!fits) {
      throw refuse(
        task,
        fn,
        `param ${i} does not fit ${label} (strings and Uint8Arrays go in i32 slots as managed objects)`,
      );
    }
  });
  const result = signature.results.length === 1 ? signature.results[0] : undefined;
  const output = task.output ?? (result === undefined ? 'void' : result === 'i64' ? 'bigint' : 'number');
  const fits =
    output === 'void' ||
    result === 'unknown' ||
    (output === 'string' || output === 'bytes' || output === 'json'
      ? result === 'i32'
      : output === 'bigint'
        ? result === 'i32' || result === 'i64'
        : output === 'number' && result !== undefined);
  if (!fits) {
    throw refuse(task, fn, `cannot give a ${JSON.stringify(output)} output from ${label}`);
  }
  return { kind: 'assemblyscript', params, output };
}
