/**
 * Tasks of functions called through a request object (WASI commands, adapter functions,
 * AssemblyScript exports): admitted here (every field read once, checked, copied into the request),
 * and sent to the worker as the one argument of the task.
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
import type { TaskParam, WasmTask } from '../types';
import type { TaskBlock } from './task-block';
import { ownCopy } from '../typed-arrays';

const utf8 = new TextEncoder();

/** The fields of a task a request is made of. */
type RequestFields = Pick<WasmTask, 'params' | 'output' | 'stdin' | 'args' | 'env'>;

function refuse(fn: FunctionRef, taskId: string | undefined, why: string): WasmPoolError {
  return new WasmPoolError(
    'INVALID_PARAMS',
    `${fn.version.name}.${fn.name}: ${why}`,
    taskId === undefined ? undefined : { taskId },
  );
}

/**
 * Admits `raw` as task `index` of `block` for a function called through a request object: reads its
 * fields once, checks them and stores the request as the task's one stored param. Throws
 * INVALID_PARAMS (a WasmPoolError) when the task is refused.
 */
export function admitRealTask(
  block: TaskBlock,
  index: number,
  raw: object,
  fn: FunctionRef,
  taskId: string | undefined,
): void {
  let fields: RequestFields;
  try {
    const task = raw as RequestFields;
    fields = { params: task.params, output: task.output, stdin: task.stdin, args: task.args, env: task.env };
    if (Array.isArray(fields.params)) fields.params = [...fields.params];
    if (Array.isArray(fields.args)) fields.args = [...fields.args];
    if (typeof fields.env === 'object' && fields.env !== null) fields.env = { ...fields.env };
  } catch (error) {
    throw refuse(fn, taskId, `reading the task threw: ${(error as Error)?.message ?? String(error)}`);
  }
  const request = makeRequest(fields, fn, taskId);
  // The block keeps params as TaskParam[]: the request travels as the one element of such an array.
  block.storeParams(index, [request as unknown as TaskParam]);
  block.fns[index] = fn;
  block.outputs[index] = OutputKind.auto;
  if (taskId !== undefined) (block.givenIds ??= [])[index] = taskId;
}

/** Writes a stored request as the task's one argument (slot 0 of its `refs`); returns the next free argument slot. */
export function encodeRealTask(
  stored: readonly TaskParam[] | undefined,
  at: number,
  taskIndex: number,
  refs: TaskRef[],
): number {
  refs.push(taskIndex, 0, stored![0] as unknown as RealRequest);
  return at + 1;
}

function makeRequest(fields: RequestFields, fn: FunctionRef, taskId: string | undefined): RealRequest {
  const real = fn.real!;
  switch (real.kind) {
    case 'command':
      return commandRequest(fields, fn, taskId);
    case 'adapter':
      if (fields.output !== undefined) {
        throw refuse(fn, taskId, 'an adapter function gives its own output: leave output unset');
      }
      return { kind: 'adapter', params: copyParams(fields, fn, taskId) };
    case 'assemblyscript':
      return assemblyScriptRequest(fields, fn, taskId, real.signature);
  }
}

function copyParams(
  fields: RequestFields,
  fn: FunctionRef,
  taskId: string | undefined,
): AssemblyScriptParam[] {
  const params: unknown = fields.params ?? [];
  if (!Array.isArray(params)) throw refuse(fn, taskId, 'params must be an array');
  return params.map((value: unknown, i) => {
    if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string') return value;
    const bytes = value instanceof Uint8Array ? ownCopy(value) : undefined;
    if (bytes !== undefined) return bytes;
    throw refuse(fn, taskId, `param ${i} must be a number, bigint, string or readable Uint8Array`);
  });
}

function commandRequest(fields: RequestFields, fn: FunctionRef, taskId: string | undefined): RealRequest {
  if (fields.params !== undefined && (!Array.isArray(fields.params) || fields.params.length > 0)) {
    throw refuse(fn, taskId, 'a WASI command takes no params: give it stdin, args and env');
  }
  if (fields.output !== undefined)
    throw refuse(fn, taskId, 'a WASI command gives { exitCode, stdout, stderr }: leave output unset');
  const { stdin, args = [], env = {} } = fields;
  let input: Uint8Array;
  if (stdin === undefined) input = new Uint8Array(0);
  else if (typeof stdin === 'string') input = utf8.encode(stdin);
  else {
    const bytes = stdin instanceof Uint8Array ? ownCopy(stdin) : undefined;
    if (bytes === undefined)
      throw refuse(fn, taskId, 'stdin must be a string or a readable Uint8Array (not detached, not a proxy)');
    input = bytes;
  }
  if (!Array.isArray(args) || args.some((arg) => typeof arg !== 'string' || arg.includes('\0'))) {
    throw refuse(fn, taskId, 'args must be an array of strings without NUL characters');
  }
  checkEnv(env, (why) => refuse(fn, taskId, `env ${why}`));
  return { kind: 'command', stdin: input, args: [...args], env: Object.entries(env) };
}

function assemblyScriptRequest(
  fields: RequestFields,
  fn: FunctionRef,
  taskId: string | undefined,
  signature: FunctionSignature,
): AssemblyScriptRequest {
  const params = copyParams(fields, fn, taskId);
  const types = signature.params;
  const label = `(${types.join(', ')}) -> ${signature.results.join(', ') || 'void'}`;
  if (params.length !== types.length) {
    throw refuse(fn, taskId, `takes ${types.length} params ${label}; got ${params.length}`);
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
        fn,
        taskId,
        `param ${i} does not fit ${label} (strings and Uint8Arrays go in i32 slots as managed objects)`,
      );
    }
  });
  const result = signature.results.length === 1 ? signature.results[0] : undefined;
  const output = fields.output ?? (result === undefined ? 'void' : result === 'i64' ? 'bigint' : 'number');
  const fits =
    output === 'void' ||
    result === 'unknown' ||
    (output === 'string' || output === 'bytes' || output === 'json'
      ? result === 'i32'
      : output === 'bigint'
        ? result === 'i32' || result === 'i64'
        : output === 'number' && result !== undefined);
  if (!fits) {
    throw refuse(fn, taskId, `cannot give a ${JSON.stringify(output)} output from ${label}`);
  }
  return { kind: 'assemblyscript', params, output };
}
