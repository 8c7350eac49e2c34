/**
 * The JSON Lines form of tasks and results. JSON has no bigint and no bytes, so both are tagged objects:
 * a bigint is `{"bigint":"123"}` and bytes are `{"base64":"..."}`, in params and in outputs alike.
 */
import type { OutputType, TaskParam, WasmResult, WasmTask } from '@wasmpool/pool';

const OUTPUT_TYPES: readonly OutputType[] = ['number', 'bigint', 'bytes', 'string', 'json', 'void'];
const TASK_KEYS = new Set(['id', 'module', 'function', 'params', 'output']);
const INTEGER = /^-?\d+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why a line is not a task; `taskId` is its id when the line is an object with a string id. */
export class TaskLineError extends Error {
  taskId: string | undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads one param in its JSON form: a number, a string, `{"bigint":"..."}` or `{"base64":"..."}`. */
export function decodeParam(value: unknown, where: string): TaskParam {
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'bigint') {
      const digits = value.bigint;
      if (typeof digits === 'string' && INTEGER.test(digits)) return BigInt(digits);
      throw new TaskLineError(
        `${where}: "bigint" must be a string of decimal digits, got ${JSON.stringify(digits)}`,
      );
    }
    if (keys.length === 1 && keys[0] === 'base64') {
      const text = value.base64;
      if (typeof text === 'string' && BASE64.test(text)) return new Uint8Array(Buffer.from(text, 'base64'));
      throw new TaskLineError(`${where}: "base64" must be a base64 string, got ${JSON.stringify(text)}`);
    }
  }
  throw new TaskLineError(
    `${where} must be a number, a string, {"bigint":"<digits>"} or {"base64":"<data>"}, got ${JSON.stringify(value)}`,
  );
}

/**
 * Reads one JSON Lines task. `fallbackId` becomes its id when the line has none (the command uses the
 * line number, so that every result can be matched with its line).
 */
export function decodeTask(line: string, fallbackId: string): WasmTask {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new TaskLineError(`not JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw new TaskLineError('a task must be a JSON object');
  try {
    return readTask(value, fallbackId);
  } catch (error) {
    if (error instanceof TaskLineError && typeof value.id === 'string') error.taskId = value.id;
    throw error;
  }
}

function readTask(value: Record<string, unknown>, fallbackId: string): WasmTask {
  const unknown = Object.keys(value).filter((key) => !TASK_KEYS.has(key));
  if (unknown.length > 0) {
    throw new TaskLineError(
      `unknown field ${JSON.stringify(unknown[0])}; a task has ${[...TASK_KEYS].join(', ')}`,
    );
  }
  const { id, module, function: fn, params, output } = value;
  if (id !== undefined && typeof id !== 'string') throw new TaskLineError('"id" must be a string');
  if (typeof module !== 'string') throw new TaskLineError('"module" must be a string');
  if (typeof fn !== 'string') throw new TaskLineError('"function" must be a string');
  if (params !== undefined && !Array.isArray(params)) throw new TaskLineError('"params" must be an array');
  if (output !== undefined && !OUTPUT_TYPES.includes(output as OutputType)) {
    throw new TaskLineError(`"output" must be one of ${OUTPUT_TYPES.join(', ')}`);
  }
  const task: WasmTask = { id: id ?? fallbackId, module, function: fn };
  if (params !== undefined) task.params = params.map((p, i) => decodeParam(p, `params[${i}]`));
  if (output !== undefined) task.output = output as OutputType;
  return task;
}

/**
 * JSON.stringify's replacer for outputs: bigints and bytes become their tagged objects (at any depth, so
 * a command task's `{ exitCode, stdout, stderr }` works too). It looks at the holder's own value because
 * a Buffer has already been turned into `{ type: 'Buffer', data }` by its toJSON when the replacer sees it.
 */
function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (typeof original === 'bigint') return { bigint: original.toString() };
  if (original instanceof Uint8Array) {
    return {
      base64: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64'),
    };
  }
  return value;
}

/** One result as a JSON line (without the newline). */
export function encodeResult(result: WasmResult): string {
  return JSON.stringify(result, replacer);
}

/** A value (a task's output) in its JSON form. */
export function encodeValue(value: unknown): string {
  return JSON.stringify([value], replacer).slice(1, -1); // in an array, undefined becomes null
}
